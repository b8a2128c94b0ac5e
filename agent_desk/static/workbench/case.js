// One case (工单) as the handler and the dispatcher see it, from GET /api/tickets/{id}/timeline: the
// citizen's request, deadlines in working time, the lead unit and co-handlers with their notes, the
// routing explanation, the citizen's photos, attached calls with their recordings, IVR survey answers,
// the history, and the actions this person may take now (actions.js).

import { api } from "../shell/api.js";
import { el } from "../shell/dom.js";
import { ACTIONS, CATEGORIES, RATINGS, STATES, bi, biText, countdown, dateTime, duration, label, lightBadge } from "../shell/i18n.js";
import { act } from "../shell/shell.js";
import { allowedActions, drawActions } from "./actions.js";

/**
 * Show case `id` in `box`; returns the ticket shown (or undefined when the server refused).
 * `onChange(view)` runs after this person's action changed the case; `reload()` reads it again (the
 * page's own opener, by default this function).
 */
export async function showCase(box, id, options = {}) {
  const { onChange = () => {}, canCall = false, reload = () => showCase(box, id, options) } = options;
  const read = await act(null, () => Promise.all([
    api(`/api/tickets/${id}/timeline`), allowedActions(id), api(`/api/tickets/${id}/attachments`)]));
  if (!read) return undefined;
  const [data, allowed, attachments] = read;
  const t = data.ticket;
  const actions = el("section", { id: "case-actions", class: "case-actions", "aria-label": biText("操作", "Actions") });
  box.replaceChildren(...[
    el("h2", { id: "case-title" }, t.number, " ", lightBadge(t.light), " ",
      el("span", { class: "badge", id: "case-state" }, label(STATES, t.state))),
    el("p", { class: "muted" }, [label(CATEGORIES, t.category), data.region_path || t.region_code, t.address].filter(Boolean).join(" · ")),
    el("h3", {}, bi("诉求", "Request")),
    el("p", { class: "request", id: "case-request" }, t.description),
    el("p", { class: "muted" }, `${biText("来电人", "Caller")}: ${t.caller_name || "–"} ${t.caller_number || ""}`),
    t.answer ? el("div", { class: "answer" }, el("h3", {}, bi("答复", "Reply")), el("p", { id: "case-answer" }, t.answer)) : null,
    actions,
    deadlineList(data.deadlines),
    units(data),
    routing(data.routing),
    photos(id, attachments),
    calls(data.calls),
    surveys(data.surveys, t.rating),
    history(data.events),
  ].filter(Boolean));
  drawActions(actions, t, allowed, {
    reload,
    canCall,
    onDone: async (view) => {
      await reload();
      onChange(view);
    },
  });
  // Set once the case and its actions are drawn: what the page shows is this version's.
  Object.assign(box.dataset, { ticket: String(t.id), state: t.state, version: String(t.version) });
  return t;
}

function deadlineList(deadlines) {
  return el("section", { "aria-label": biText("时限", "Deadlines") },
    el("h3", {}, bi("时限（工作时间）", "Deadlines (working time)")),
    deadlines.length ? el("ul", { class: "deadlines" }, deadlines.map((d) => el("li", { class: "deadline", dataset: { name: d.name } },
      `${d.label}: ${dateTime(d.due_at)} `, lightBadge(d.light), " ", el("span", { class: "muted" }, countdown(d)))))
      : el("p", { class: "empty" }, biText("暂无时限", "no deadline yet")));
}

/** The lead unit and the co-handlers, each with the notes its people wrote. */
function units(data) {
  const notes = data.events.filter((e) => e.action === "note" && e.data && e.data.unit_id);
  const lead = data.ticket.lead_unit_id;
  return el("section", { id: "case-units", "aria-label": biText("承办单位", "Units") },
    el("h3", {}, bi("承办单位", "Units")),
    data.units.length ? el("ul", { class: "units" }, data.units.map((u) => el("li", { dataset: { unit: u.id } },
      el("strong", {}, u.name), " ",
      el("span", { class: "badge" }, u.id === lead ? biText("主办", "lead") : biText("协办", "co-handler")),
      el("ul", { class: "notes" }, notes.filter((n) => n.data.unit_id === u.id).map((n) => el("li", {},
        el("span", { class: "muted" }, `${dateTime(n.at)} ${n.actor}: `), n.reason))))))
      : el("p", { class: "empty" }, biText("尚未派单", "not dispatched yet")));
}

function routing(explanation) {
  if (!explanation) return null;
  return el("section", { id: "case-routing", "aria-label": biText("派单依据", "Routing explanation") },
    el("h3", {}, bi("派单依据", "Why this unit")),
    el("p", { class: "muted" }, `${label(ACTIONS, explanation.action)} ${dateTime(explanation.at)} · ${explanation.rule}` +
      (explanation.level ? ` · ${explanation.level}` : "")),
    el("ul", {}, explanation.reasons.map((r) => el("li", {}, r))));
}

/** The citizen's photos (portal, app), each read through the API (bearer token, scoped) and shown from
 * memory; a click shows it full width and back. */
function photos(ticketId, list) {
  if (!list.length) return null;
  const figures = list.map((p, i) => {
    const img = el("img", { alt: `${biText("现场照片", "Photo")} ${i + 1} (${p.width}×${p.height})`, width: p.width, height: p.height });
    img.addEventListener("click", () => img.classList.toggle("large"));
    api(`/api/tickets/${ticketId}/attachments/${p.id}`, { blob: true })
      .then((blob) => { img.src = URL.createObjectURL(blob); })
      .catch(() => { img.alt = biText("照片无法载入", "the photo could not be loaded"); });
    return el("figure", { class: "photo", dataset: { attachment: String(p.id) } }, img,
      el("figcaption", { class: "muted" }, dateTime(p.created_at)));
  });
  return el("section", { id: "case-photos", "aria-label": biText("现场照片", "Photos") },
    el("h3", {}, bi("现场照片", "Photos")), el("div", { class: "photos" }, figures));
}

function calls(list) {
  return el("section", { "aria-label": biText("关联通话", "Attached calls") },
    el("h3", {}, bi("关联通话", "Attached calls")),
    list.length ? el("ul", { id: "case-calls", class: "calls" }, list.map((c) => el("li", {},
      `${dateTime(c.entered_at || c.ended_at)} ${c.caller_number || ""} ${c.queue || ""} ${c.outcome}${c.unknown_reason ? ` (${c.unknown_reason})` : ""} ${duration(c.talk_seconds)}`,
      c.has_recording ? recording(c) : null)))
      : el("p", { class: "empty" }, biText("无关联通话", "no call attached")));
}

/** The recording through the API (bearer token, scoped), played from memory. */
function recording(call) {
  const audio = el("audio", { controls: true, preload: "none", hidden: true, "aria-label": biText("通话录音", "Call recording") });
  const button = el("button", { type: "button", class: "play" }, bi("载入录音", "Load recording"));
  button.addEventListener("click", async () => {
    const blob = await act(button, () => api(`/api/calls/${call.id}/recording`, { blob: true }));
    if (!blob) return;
    audio.src = URL.createObjectURL(blob);
    audio.hidden = false;
    button.hidden = true;
  });
  return el("span", { class: "recording" }, " ", button, audio);
}

function surveys(list, rating) {
  return el("section", { id: "case-rating", "aria-label": biText("满意度", "Satisfaction") },
    el("h3", {}, bi("满意度", "Satisfaction")),
    el("p", {}, rating ? `${biText("回访结果", "Follow-up rating")}: ${label(RATINGS, rating)}` : biText("尚未回访", "not rated yet")),
    list.length ? el("ul", { id: "case-surveys" }, list.map((s) => el("li", {},
      `${biText("语音满意度调查", "IVR survey")} ${dateTime(s.at)}: ${label(RATINGS, s.rating)}`,
      s.applied ? "" : el("span", { class: "muted" }, ` (${biText("未计入", "not applied")}${s.note ? `: ${s.note}` : ""})`))))
      : null);
}

function history(events) {
  return el("section", { "aria-label": biText("处理过程", "Timeline") },
    el("h3", {}, bi("处理过程", "Timeline")),
    el("ol", { id: "case-events", class: "events" }, events.map((e) => el("li", { dataset: { action: e.action } },
      el("span", { class: "muted" }, `${dateTime(e.at)} ${e.actor} `),
      el("strong", {}, label(ACTIONS, e.action)),
      e.to_state && e.from_state !== e.to_state ? ` → ${label(STATES, e.to_state)}` : "",
      e.reason ? `: ${e.reason}` : ""))));
}
