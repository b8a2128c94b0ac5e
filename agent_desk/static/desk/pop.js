// The screen pop: the caller on the line (number and city, repeat-caller badge with their recent
// tickets, IVR keys, the draft's transcript and recording), and the call controls.

import { accessToken, api, describe } from "../shell/api.js";
import { $, el } from "../shell/dom.js";
import { CATEGORIES, biText, dateTime, label, lightBadge } from "../shell/i18n.js";
import { openStream } from "../shell/sse.js";
import { act, showMessage } from "../shell/shell.js";
import { desk, emit } from "./state.js";

const KINDS = {
  ringing: ["振铃", "ringing"],
  connected: ["通话中", "connected"],
  completed: ["已结束", "ended"],
  draft_ready: ["转写完成", "transcript ready"],
};
const DRAFT_STATUS = {
  pending: ["转写中", "transcribing"],
  ready: ["已转写", "ready"],
  failed: ["转写失败", "failed"],
  no_speech: ["无语音", "no speech"],
};
const PAINTS_KEPT = 200;
window.deskPaints = []; // when each pop was painted (the screen-pop latency bench reads it)

export function startPops({ openTicket }) {
  $("#transfer-button").addEventListener("click", transfer);
  $("#hangup-button").addEventListener("click", hangUp);
  api("/api/calls/transfer-destinations").then(({ queues, agents }) => $("#transfer-targets").replaceChildren(
    ...queues.map((q) => el("option", { value: q, label: biText("队列", "queue") })),
    ...agents.map((a) => el("option", { value: a, label: biText("坐席", "agent") })))).catch(() => {});
  api("/api/agent/screen-pop/current").then((pop) => pop && show(pop, openTicket)).catch(() => {});
  openStream("/api/agent/screen-pop", {
    events: {
      pop: (pop) => show(pop, openTicket),
      hello: () => { document.body.dataset.pops = "listening"; }, // the server now sends this agent's pops
    },
    onState: (state, detail) => {
      const badge = $("#stream-state");
      badge.textContent = {
        connecting: biText("连接中", "connecting"),
        live: biText("来电推送已连接", "screen pops live"),
        reconnecting: biText("连接中断，重连中", "connection lost, reconnecting…"),
        closed: biText("来电推送已停止", "screen pops stopped") + (detail ? `: ${detail}` : ""),
      }[state];
      badge.className = "badge" + (state === "live" ? "" : " warn");
      document.body.dataset.stream = state;
    },
  });
}

function show(pop, openTicket) {
  const sameCall = desk.pop && desk.pop.linkedid === pop.linkedid;
  // A later pop of the same call keeps what the earlier one knew (the draft may come later).
  desk.pop = sameCall ? { ...desk.pop, ...pop, call_id: pop.call_id || desk.pop.call_id, draft: pop.draft || desk.pop.draft } : pop;
  render(desk.pop, openTicket);
  emit("pop", desk.pop);
  const painted = { linkedid: pop.linkedid, kind: pop.kind };
  requestAnimationFrame(() => {
    window.deskPaints.push({ ...painted, at: performance.timeOrigin + performance.now() });
    if (window.deskPaints.length > PAINTS_KEPT) window.deskPaints.shift();
    document.body.dataset.pop = `${painted.kind}:${painted.linkedid}`;
  });
}

function render(pop, openTicket) {
  $("#pop-empty").hidden = true;
  $("#pop-body").hidden = false;
  $("#pop-number").textContent = pop.caller_number || biText("未知号码", "unknown number");
  $("#pop-area").textContent = pop.caller_area || "";
  $("#pop-kind").textContent = label(KINDS, pop.kind);
  $("#pop-queue").textContent = pop.queue ? `${biText("队列", "queue")} ${pop.queue}` : "";
  $("#pop-ivr").textContent = pop.ivr_choice || "–";
  const tickets = pop.recent_tickets || [];
  const repeat = $("#pop-repeat");
  repeat.hidden = tickets.length === 0;
  repeat.textContent = `重复来电 repeat caller · ${tickets.length}`;
  $("#pop-history").replaceChildren(...(tickets.length ? tickets.map((t) => el("li", {},
    el("button", { type: "button", class: "link", onclick: () => openTicket(t.id),
      "aria-label": biText("打开工单", "Open ticket") + " " + t.number }, t.number),
    el("span", {}, `${t.state_label} ${t.state}`), lightBadge(t.light),
    el("span", { class: "muted" }, label(CATEGORIES, t.category))))
    : [el("li", { class: "empty" }, biText("90天内无工单", "no tickets in 90 days"))]));
  const draft = pop.draft;
  $("#pop-draft-status").textContent = draft ? label(DRAFT_STATUS, draft.status) : biText("无录音", "no recording");
  $("#pop-transcript").textContent = (draft && draft.transcript) || "";
  const audio = $("#pop-audio");
  audio.hidden = !pop.recording_url;
  if (!pop.recording_url) $("#pop-recording-error").textContent = "";
  if (pop.recording_url) loadRecording(audio, pop.recording_url);
}

async function loadRecording(audio, url) {
  if (audio.dataset.url === url) return;
  audio.dataset.url = url;
  try {
    const response = await fetch(url, { headers: { Authorization: "Bearer " + (await accessToken()) } });
    if (!response.ok) throw new Error(`${response.status} ${describe(response.status, await response.json().catch(() => null))}`);
    audio.src = URL.createObjectURL(await response.blob());
  } catch (err) {
    audio.hidden = true;
    $("#pop-recording-error").textContent = `${biText("录音无法播放", "recording unavailable")}: ${err.message}`;
  }
}

/** The call on screen's record id; a pop that came before the record was stored is looked up again. */
export async function currentCallId() {
  if (!desk.pop) return null;
  if (desk.pop.call_id) return desk.pop.call_id;
  const fresh = await api("/api/agent/screen-pop/current");
  if (fresh && fresh.linkedid === desk.pop.linkedid && fresh.call_id) desk.pop.call_id = fresh.call_id;
  return desk.pop.call_id;
}

async function requireCall() {
  const id = await currentCallId();
  if (!id) showMessage(biText("当前没有可操作的通话", "There is no call on screen to act on"), "error");
  return id;
}

export async function transfer() {
  const input = $("#transfer-to");
  const destination = input.value.trim();
  if (!destination) {
    input.focus();
    return;
  }
  const button = $("#transfer-button");
  const done = await act(button, async () => {
    const id = await requireCall();
    return id && api(`/api/calls/${id}/transfer`, { method: "POST", body: { destination } });
  });
  if (done) showMessage(done.detail);
}

async function hangUp() {
  const done = await act($("#hangup-button"), async () => {
    const id = await requireCall();
    return id && api(`/api/calls/${id}/hangup`, { method: "POST" });
  });
  if (done) showMessage(done.detail);
}
