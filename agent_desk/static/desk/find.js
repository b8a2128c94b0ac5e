// Find a ticket by its number (the digits alone work), the caller's number, or words; open its
// timeline: events, light, deadlines in working time, attached calls.

import { api } from "../shell/api.js";
import { $, el } from "../shell/dom.js";
import { CATEGORIES, biText, countdown, dateTime, label, lightBadge } from "../shell/i18n.js";
import { act } from "../shell/shell.js";

export function startFind() {
  $("#find-form").addEventListener("submit", (event) => {
    event.preventDefault();
    find();
  });
}

async function find() {
  const q = $("#find-q").value.trim();
  if (!q) return;
  const page = await act($("#find-form button"), () => api("/api/search/tickets", { query: { q } }));
  if (!page) return;
  $("#timeline").hidden = true;
  $("#find-results").replaceChildren(...(page.items.length ? page.items.map((t) => el("li", { dataset: { ticket: t.number } },
    el("button", { type: "button", class: "title", onclick: () => openTimeline(t.id) }, t.number),
    " ", lightBadge(t.light), " ", el("span", {}, `${t.state_label} ${t.state}`),
    el("div", { class: "snippet" }, t.description),
  )) : [el("li", { class: "empty" }, biText("没有找到工单", "no ticket found"))]));
}

export async function openTimeline(id) {
  const data = await act(null, () => api(`/api/tickets/${id}/timeline`));
  if (!data) return;
  const t = data.ticket;
  const box = $("#timeline");
  box.hidden = false;
  box.replaceChildren(...[
    el("h3", {}, t.number, " ", lightBadge(t.light)),
    el("p", {}, `${label(CATEGORIES, t.category)} · ${t.state_label} ${t.state} · ${t.lead_unit_id || biText("未派单", "not dispatched")}`),
    el("p", { class: "snippet" }, t.description),
    t.answer ? el("p", {}, `${biText("答复", "answer")}: ${t.answer}`) : null,
    el("h3", {}, biText("时限（工作时间）", "Deadlines (working time)")),
    data.deadlines.length ? el("ul", {}, data.deadlines.map((d) => el("li", { class: "deadline" },
      `${d.label}: ${dateTime(d.due_at)}`, lightBadge(d.light),
      el("span", { class: "muted" }, countdown(d))))) : el("p", { class: "empty" }, biText("暂无时限", "no deadline yet")),
    el("h3", {}, biText("处理过程", "Timeline")),
    el("ol", {}, data.events.map((e) => el("li", {},
      `${dateTime(e.at)} ${e.actor} ${e.action}${e.to_state ? ` → ${e.to_state}` : ""}${e.reason ? `: ${e.reason}` : ""}`))),
    el("h3", {}, biText("关联通话", "Attached calls")),
    data.calls.length ? el("ul", { id: "timeline-calls" }, data.calls.map((c) => el("li", {},
      `${dateTime(c.entered_at || c.ended_at)} ${c.caller_number || ""} ${c.queue || ""} ${c.outcome}${c.unknown_reason ? ` (${c.unknown_reason})` : ""} ${c.linkedid}`)))
      : el("p", { class: "empty" }, biText("无关联通话", "no call attached")),
  ].filter(Boolean));
}
