// What the workbench pages share besides the case itself: a case's line in a list, the filters'
// options, and the live stream of changes to the cases in the person's scope (/api/ticket-changes/stream).

import { api } from "../shell/api.js";
import { openStream } from "../shell/sse.js";
import { el } from "../shell/dom.js";
import { ACTIONS, CATEGORIES, STATES, bi, biText, countdown, label, lightBadge } from "../shell/i18n.js";

/** One case in a list: number, light, state, category, 督办 badge, the nearest open deadline. */
export function caseItem(t, { onOpen, current, unitId }) {
  const open = (t.deadlines || []).filter((d) => !d.met_at);
  const next = open[open.length - 1]; // the resolution deadline once signed, else the sign-off one
  return el("li", { dataset: { ticket: String(t.id), number: t.number }, "aria-current": current ? "true" : null },
    el("button", { type: "button", class: "open", onclick: () => onOpen(t.id) }, t.number),
    el("div", { class: "meta" },
      lightBadge(t.light), el("span", {}, label(STATES, t.state)), el("span", { class: "muted" }, label(CATEGORIES, t.category)),
      unitId && t.lead_unit_id ? el("span", { class: "badge" }, t.lead_unit_id === unitId ? biText("主办", "lead") : biText("协办", "co-handler")) : null,
      t.supervisions ? el("span", { class: "badge supervised", title: biText("督办次数", "times supervised") },
        `${biText("督办", "supervised")} ×${t.supervisions}`) : null,
      next ? el("span", { class: "countdown muted" }, `${next.label}: ${countdown(next)}`) : null),
    el("div", { class: "snippet" }, t.description));
}

/** Fill a <select> with "all" and the table's entries. */
export function fillSelect(select, table, allText = biText("全部", "all")) {
  select.replaceChildren(el("option", { value: "" }, allText),
    ...Object.entries(table).map(([value, [zh, en]]) => el("option", { value }, `${zh} ${en}`)));
}

const STREAM_STATES = {
  connecting: ["连接中", "connecting"],
  live: ["实时", "live"],
  reconnecting: ["重连中", "reconnecting"],
  closed: ["已断开", "disconnected"],
};

/** Listen to changes of the cases in scope; `badge` shows the stream's state. When changes may have
 * gone unheard — the server dropped some after a burst (`resync`), or the stream was down for a while
 * and is live again — the list is read again (`reloadList`) and the open case (#case) flagged
 * (#case-changed) if it moved on meanwhile. */
export function watchCases(badge, onChange, reloadList) {
  let wasLive = false;
  const onMissed = async () => {
    reloadList();
    if (await openCaseIsStale().catch(() => false)) document.querySelector("#case-changed").hidden = false;
  };
  return openStream("/api/ticket-changes/stream", {
    events: { change: onChange, resync: () => onMissed() },
    onState: (state, detail) => {
      const [zh, en] = STREAM_STATES[state] || [state, state];
      badge.replaceChildren(bi(zh, en), detail ? ` ${detail}` : "");
      badge.dataset.state = state;
      if (state === "live" && wasLive) onMissed();
      if (state === "live") wasLive = true;
    },
  });
}

/** Whether the case #case shows (showCase) is older than the server's. */
async function openCaseIsStale() {
  const box = document.querySelector("#case");
  if (!box || !box.dataset.ticket) return false;
  const current = await api(`/api/tickets/${box.dataset.ticket}`);
  return String(current.version) !== box.dataset.version;
}

/** What a change says to a person: "督办 supervise JS…: reason". */
export function describeChange(c) {
  return `${label(ACTIONS, c.action)} ${c.number}${c.reason ? `: ${c.reason}` : ""} (${c.actor})`;
}

/** `fn` run once after a burst of calls has settled for `ms` (a busy province changes all the time). */
export function settled(fn, ms = 500) {
  let timer = null;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(), ms);
  };
}
