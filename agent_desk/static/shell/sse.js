// Server-sent events with the bearer token (EventSource cannot send one), reconnecting by itself.
//
//   const stream = openStream("/api/agent/screen-pop", {
//     events: { pop: (data) => …, hello: (data) => … },   // data is parsed JSON
//     onState: (state, detail) => …,                       // "connecting" | "live" | "reconnecting" | "closed"
//   });
//   stream.close();
//
// A dropped connection is retried after the server's `retry:` (default 1 s), backing off to 10 s;
// a 401 refreshes the session first; a 403/404 (the server refuses) is not retried.

import { accessToken, refresh, describe, toLogin } from "./api.js";

export function openStream(path, { events = {}, onState = () => {} } = {}) {
  let controller = null;
  let closed = false;
  let retryMs = 1000;
  let failures = 0;

  function dispatch(name, data) {
    const handler = events[name || "message"];
    if (!handler) return;
    let parsed = data;
    try {
      parsed = JSON.parse(data);
    } catch {
      // not JSON: hand over the text
    }
    handler(parsed);
  }

  async function run() {
    while (!closed) {
      controller = new AbortController();
      onState(failures ? "reconnecting" : "connecting");
      try {
        let response = await fetch(path, {
          headers: { Authorization: "Bearer " + (await accessToken()), Accept: "text/event-stream" },
          signal: controller.signal,
          cache: "no-store",
        });
        if (response.status === 401) {
          await refresh();
          continue;
        }
        if (!response.ok) {
          let body = null;
          try { body = await response.json(); } catch { /* not JSON */ }
          onState("closed", describe(response.status, body));
          return;
        }
        failures = 0;
        onState("live");
        await readEvents(response.body, dispatch, (ms) => { retryMs = ms; });
      } catch (err) {
        if (closed) return;
        if (err && err.status === 401) {
          toLogin();
          return;
        }
      }
      if (closed) return;
      failures += 1;
      onState("reconnecting");
      await new Promise((resolve) => setTimeout(resolve, Math.min(10_000, retryMs * Math.min(failures, 5))));
    }
  }

  run();
  return {
    close() {
      closed = true;
      if (controller) controller.abort();
      onState("closed");
    },
  };
}

async function readEvents(body, dispatch, setRetry) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let name = "";
  let data = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let cut;
    while ((cut = buffer.search(/\r\n|\r|\n/)) >= 0) {
      if (buffer[cut] === "\r" && cut === buffer.length - 1) break; // its "\n" may be in the next chunk
      const line = buffer.slice(0, cut);
      buffer = buffer.slice(cut + (buffer.startsWith("\r\n", cut) ? 2 : 1));
      if (line === "") {
        if (data.length) dispatch(name, data.join("\n"));
        name = "";
        data = [];
      } else if (line.startsWith(":")) {
        // a comment: the server's keep-alive ping
      } else {
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "event") name = value;
        else if (field === "data") data.push(value);
        else if (field === "retry" && /^\d+$/.test(value)) setRetry(Number(value));
      }
    }
  }
}
