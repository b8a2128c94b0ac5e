// The status bar: queue log-in/out (QueueAdd/QueueRemove), pause with a reason (QueuePause), the
// live state from the live model, the wrap-up countdown, and today's counts.

import { api } from "../shell/api.js";
import { $, el } from "../shell/dom.js";
import { AGENT_STATES, PAUSE_REASONS, bi, duration, label } from "../shell/i18n.js";
import { act, showMessage } from "../shell/shell.js";
import { desk, on } from "./state.js";

let wrapupUntil = 0;
let callState = null; // "ringing" | "on_call" from the latest screen pop …
let callStateAt = 0; // … trusted until the next status poll has seen the live model
const POLL_MS = 2000;

export async function startStatus() {
  const reasons = await api("/api/agent/pause-reasons");
  $("#pause-reason").replaceChildren(...reasons.items.map((code) => el("option", { value: code }, label(PAUSE_REASONS, code))));
  $("#pause-button").addEventListener("click", togglePause);
  on("pop", (pop) => {
    callStateAt = Date.now();
    if (pop.kind === "ringing") callState = "ringing";
    else if (pop.kind === "connected") callState = "on_call";
    else if (pop.kind === "completed") {
      callState = null;
      wrapupUntil = Date.now() + (desk.status ? desk.status.wrapup_seconds : 0) * 1000;
    }
    render();
  });
  await refreshStatus();
  await refreshToday();
  setInterval(() => refreshStatus().catch(() => {}), POLL_MS);
  setInterval(() => refreshToday().catch(() => {}), 15000);
  setInterval(render, 1000);
}

export async function refreshStatus() {
  desk.status = await api("/api/agent/status");
  drawQueues();
  render();
}

async function refreshToday() {
  const today = await api("/api/agent/today");
  $("#today-answered").textContent = today.answered;
  $("#today-aht").textContent = duration(today.aht_seconds);
  $("#today-paused").textContent = duration(today.paused_seconds);
}

function memberships() {
  return Object.values((desk.status && desk.status.queues) || {});
}

export function isPaused() {
  const members = memberships();
  return members.length > 0 && members.every((m) => m.state === "paused");
}

/** available, ringing, on_call, paused, wrapup, unavailable, or logged_out. */
export function agentState() {
  const members = memberships();
  if (callState && Date.now() - callStateAt < POLL_MS * 1.5) return callState;
  if (members.some((m) => m.state === "ringing" || m.state === "on_call")) {
    return members.some((m) => m.state === "ringing") ? "ringing" : "on_call";
  }
  if (wrapupUntil > Date.now()) return "wrapup";
  if (!members.length) return "logged_out";
  if (isPaused()) return "paused";
  return members.some((m) => m.state === "available") ? "available" : "unavailable";
}

function render() {
  const state = agentState();
  document.body.dataset.state = state;
  const reason = memberships().map((m) => m.paused_reason).find(Boolean);
  let text = label(AGENT_STATES, state);
  if (state === "paused" && reason) text += ` · ${label(PAUSE_REASONS, reason)}`;
  $("#agent-state").textContent = text;
  const wrap = $("#wrapup");
  const left = Math.ceil((wrapupUntil - Date.now()) / 1000);
  wrap.hidden = left <= 0;
  if (left > 0) wrap.textContent = `话后处理 wrap-up ${duration(left)}`;
  const pause = $("#pause-button");
  const paused = isPaused();
  pause.replaceChildren(paused ? bi("恢复", "Unpause") : bi("小休", "Pause"), " ", el("kbd", {}, "Alt+P"));
  pause.setAttribute("aria-pressed", String(paused));
}

function drawQueues() {
  const box = $("#queue-toggles");
  const legend = box.querySelector("legend");
  const buttons = desk.status.configured_queues.map((queue) => {
    const member = desk.status.queues[queue];
    return el("button", {
      type: "button", "aria-pressed": String(Boolean(member)), dataset: { queue },
      title: member ? "点击签出 click to leave" : "点击签入 click to join",
      onclick: (event) => toggleQueue(event.currentTarget, queue, Boolean(member)),
    }, queue, " ", member ? bi("已签入", "in") : bi("未签入", "out"));
  });
  box.replaceChildren(legend, ...buttons);
}

async function toggleQueue(button, queue, member) {
  const done = await act(button, () => api(`/api/agent/queues/${encodeURIComponent(queue)}/${member ? "logout" : "login"}`,
    { method: "POST" }));
  if (done) {
    showMessage(done.detail);
    await refreshStatus();
  }
}

export async function togglePause() {
  const button = $("#pause-button");
  const done = await act(button, () => (isPaused()
    ? api("/api/agent/unpause", { method: "POST" })
    : api("/api/agent/pause", { method: "POST", body: { reason: $("#pause-reason").value } })));
  if (done) {
    showMessage(done.detail);
    await refreshStatus();
    await refreshToday();
  }
}
