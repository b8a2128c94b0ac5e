// Wallboard client: numbers, colour and text, updated by server-sent events.
//
// Two ways in. A wall screen opens /wallboard#kiosk=KEY: the key goes once in a header to
// /api/wallboard/kiosk, which sets an HttpOnly cookie for the snapshot and the stream (an EventSource,
// re-created if the browser gives up); the key then leaves the address bar. Supervisors and dispatchers
// come from the shell's navigation with their session: the same data, in their scope (a city
// supervisor's city PBX), with their bearer token.

import { api, ApiError, ownSession } from "/static/shell/api.js";
import { openStream } from "/static/shell/sse.js";

const STREAM = "/api/wallboard/stream";
const SNAPSHOT = "/api/wallboard/snapshot";
const KIOSK = "/api/wallboard/kiosk";
const $ = (sel) => document.querySelector(sel);
const field = (name) => document.querySelector('[data-field="' + name + '"]');
const pct = (x) => (x === null || x === undefined ? "–" : (x * 100).toFixed(1) + "%");
const secs = (s) => { s = Math.round(s || 0); return s >= 60 ? Math.floor(s / 60) + "m" + String(s % 60).padStart(2, "0") + "s" : s + "s"; };
const text = (el, value) => { if (el) el.textContent = value; };
const CONNECTION = {
  connecting: "连接中 connecting…",
  live: "已连接 connected",
  reconnecting: "连接中断，重连中 connection lost, reconnecting…",
};
let source = null;
let retryTimer = null;

function setConnection(state, label) {
  document.body.dataset.connection = state;
  text($("#connection"), label);
}

function render(snap) {
  const mode = $("#mode");
  mode.className = "mode " + (snap.stale ? "stale" : snap.mode);
  document.body.dataset.stale = snap.stale ? "true" : "false";
  mode.textContent = snap.stale
    ? "数据可能过时 STALE: the live feed is away, figures as last received"
    : snap.mode === "replay"
    ? "回放演示 REPLAY of a recorded PBX capture" + (snap.source ? " (" + snap.source + ")" : "")
    : snap.mode === "live" ? "实时 LIVE" : "未连接电话系统 NO PBX";
  const t = snap.totals;
  text(field("waiting"), t.waiting);
  text(field("longest"), secs(t.longest_wait_seconds));
  text(field("logged_in"), t.logged_in);
  text(field("available"), t.available);
  text(field("on_call"), t.on_call);
  text(field("paused"), t.paused);
  text(field("offered"), t.offered);
  text(field("answered"), t.answered);
  text(field("abandoned"), t.abandoned);
  text(field("timeout"), t.timeout); // left the queue unanswered otherwise: in the answer rate's denominator too
  text(field("exit_with_key"), t.exit_with_key);
  $("#fig-waiting").classList.toggle("alert", t.waiting > 0 && t.available === 0);
  $("#fig-longest").classList.toggle("alert", t.longest_wait_seconds > snap.service_level_seconds);

  const rate = t.answer_rate;
  const below = rate !== null && rate < snap.answer_rate_target;
  text(field("answer_rate"), pct(rate));
  text(field("answer_status"), rate === null ? "暂无数据 no calls yet" : below ? "低于目标 BELOW target" : "达标 on target");
  text(field("target"), pct(snap.answer_rate_target));
  text(field("service_level"), pct(t.service_level));
  const gauge = $("#gauge");
  gauge.classList.toggle("below", below);
  $("#gauge-arc").setAttribute("stroke-dasharray", ((rate || 0) * 100).toFixed(1) + " 100");
  const angle = Math.PI * (1 - snap.answer_rate_target);
  const x1 = 100 + 70 * Math.cos(angle), y1 = 100 - 70 * Math.sin(angle);
  const x2 = 100 + 92 * Math.cos(angle), y2 = 100 - 92 * Math.sin(angle);
  const target = $("#gauge-target");
  target.setAttribute("x1", x1); target.setAttribute("y1", y1); target.setAttribute("x2", x2); target.setAttribute("y2", y2);

  renderPbxs(snap);

  const rows = $("#queue-rows");
  rows.replaceChildren(...snap.queues.map((q) => {
    const tr = document.createElement("tr");
    [q.name, q.waiting, secs(q.longest_wait_seconds), q.available, pct(q.answer_rate)].forEach((v) => {
      const td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
    });
    return tr;
  }));

  const cities = $("#city-lights");
  cities.replaceChildren(...snap.cities.map((c) => {
    const li = document.createElement("li");
    li.dataset.city = c.code;
    const name = document.createElement("span"); name.className = "city-name"; name.textContent = c.name;
    const lights = document.createElement("span");
    const red = document.createElement("span");
    red.className = "light " + (c.red > 0 ? "red" : "green");
    red.textContent = c.red > 0 ? "红 " + c.red + " overdue" : "绿 OK";
    const counts = document.createElement("span"); counts.className = "counts";
    counts.textContent = " 绿" + c.green + " 黄" + c.yellow + " 办理中" + c.open_on_time;
    lights.append(red, counts);
    li.append(name, lights);
    return li;
  }));

  const spots = $("#hotspot-list");
  if (snap.hotspots.length === 0) {
    const li = document.createElement("li"); li.className = "empty"; li.textContent = "无 none";
    spots.replaceChildren(li);
  } else {
    spots.replaceChildren(...snap.hotspots.map((h) => {
      const li = document.createElement("li");
      li.className = "alert";
      li.textContent = "⚠ " + h.county_name + " " + h.category_label + " " + h.category + ": " + h.last_hour +
        " 件/小时 this hour (平时 usual " + h.usual_per_hour.toFixed(1) + ")";
      return li;
    }));
  }

  const list = $("#abandoned-list");
  if (snap.abandoned.length === 0) {
    const li = document.createElement("li"); li.className = "empty"; li.textContent = "无 none";
    list.replaceChildren(li);
  } else {
    list.replaceChildren(...snap.abandoned.map((a) => {
      const li = document.createElement("li");
      li.textContent = new Date(a.at).toLocaleTimeString("zh-CN", { hour12: false }) + "  " + a.caller +
        "  " + a.queue + "  等待 waited " + secs(a.wait_seconds) +
        (a.called_back ? "  ✓ 已回拨 called back" : "");
      li.classList.toggle("called-back", a.called_back);
      return li;
    }));
  }
  document.body.dataset.updated = snap.at;
}

// One tile per PBX, beside the totals, where there are several (a city supervisor's board is its one PBX).
function renderPbxs(snap) {
  const cityNames = Object.fromEntries(snap.cities.map((c) => [c.code, c.name]));
  $(".pbxs").hidden = snap.pbx.length < 2;
  $("#pbx-tiles").replaceChildren(...snap.pbx.map((p) => {
    const tile = document.createElement("article");
    tile.className = "pbx-tile";
    tile.dataset.pbx = p.name;
    tile.classList.toggle("alert", p.waiting > 0 && p.available === 0);
    const title = document.createElement("h3");
    const place = document.createElement("small");
    place.textContent = " " + (p.city_code ? (cityNames[p.city_code] || p.city_code) : "全省 province");
    title.append(p.name, place);
    const figures = document.createElement("dl");
    [["排队 Waiting", "waiting", p.waiting], ["最长 Longest", "longest", secs(p.longest_wait_seconds)],
     ["空闲/在线 Avail./in", "agents", p.available + "/" + p.logged_in], ["接通 Answered", "answered", p.answered],
     ["放弃 Abandoned", "abandoned", p.abandoned], ["接通率 Rate", "answer_rate", pct(p.answer_rate)]]
      .forEach(([label, name, value]) => {
        const pair = document.createElement("div");
        const dt = document.createElement("dt"); dt.textContent = label;
        const dd = document.createElement("dd"); dd.dataset.pbxField = name; dd.textContent = value;
        pair.append(dt, dd);
        figures.append(pair);
      });
    tile.append(title, figures);
    return tile;
  }));
}

/** The kiosk key in the address (#kiosk=KEY), taken out of it. */
function kioskKey() {
  const match = /(?:^#|&)kiosk=([^&]+)/.exec(location.hash);
  if (!match) return null;
  history.replaceState(null, "", location.pathname + location.search);
  return decodeURIComponent(match[1]);
}

// False when the server refuses this screen (no key, or a revoked one); a network error is not a refusal.
async function allowed() {
  try {
    const response = await fetch(SNAPSHOT, { credentials: "same-origin" });
    if (response.status === 401 || response.status === 403) {
      setConnection("locked", "需要大屏密钥 kiosk key needed: open /wallboard#kiosk=KEY, or log in");
      return false;
    }
    if (response.ok) render(await response.json());
  } catch (e) { /* the stream's reconnection handles an unreachable server */ }
  return true;
}

async function reconnect() {
  retryTimer = null;
  if (await allowed()) connect();
  else retryTimer = setTimeout(reconnect, 10000);
}

function connect() {
  if (source) source.close();
  source = new EventSource(STREAM);
  source.addEventListener("open", () => setConnection("live", CONNECTION.live));
  source.addEventListener("snapshot", (e) => { setConnection("live", CONNECTION.live); render(JSON.parse(e.data)); });
  source.addEventListener("error", () => {
    setConnection("reconnecting", CONNECTION.reconnecting);
    if (source.readyState === EventSource.CLOSED && !retryTimer) {
      retryTimer = setTimeout(reconnect, 2000);
    }
  });
}

/** Staff with a session: the bearer token opens the snapshot and the stream, or the server says why not. */
async function staffBoard() {
  try {
    render(await api(SNAPSHOT));
  } catch (err) {
    setConnection("locked", err instanceof ApiError ? `${err.status}: ${err.detail}` : String(err));
    return;
  }
  openStream(STREAM, {
    events: { snapshot: render },
    onState: (state, detail) => setConnection(state === "closed" ? "locked" : state,
                                               detail || CONNECTION[state] || state),
  });
}

async function start() {
  setInterval(() => text($("#clock"), new Date().toLocaleTimeString("zh-CN", { hour12: false })), 1000);
  const key = kioskKey();
  if (key) {
    await fetch(KIOSK, { method: "POST", credentials: "same-origin", headers: { "X-Kiosk-Key": key } })
      .catch(() => {});
  } else if (await ownSession()) {
    await staffBoard();
    return;
  }
  await reconnect();
}

start();
