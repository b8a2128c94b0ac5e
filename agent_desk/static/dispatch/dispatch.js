// 派单调度 Dispatch: the cases that wait for a dispatcher — returned ones (re-dispatch, or escalate to
// 审定 and rule), extension requests (approve or deny), answered ones awaiting 回访 (call the
// citizen, record the rating; unsatisfied sends the case back, 重办) — and 督办 on any open case.
// The case opens beside the list with exactly the actions the server allows.

import { api } from "../shell/api.js";
import { $, $$, el } from "../shell/dom.js";
import { LIGHTS, biText } from "../shell/i18n.js";
import { act, showError, showMessage, startPage } from "../shell/shell.js";
import { showCase } from "../workbench/case.js";
import { caseItem, describeChange, fillSelect, settled, watchCases } from "../workbench/cases.js";

const OPEN = ["accepted", "dispatched", "returned", "ruling", "handling", "extension_requested", "replied"];
const VIEWS = {
  returned: { states: ["returned", "ruling"], hint: ["退回的工单：重新派单，或提请审定后裁定", "Returned cases: re-dispatch, or escalate to a ruling and rule"] },
  extensions: { states: ["extension_requested"], hint: ["承办单位的延期申请：同意或不同意", "Extension requests: approve or deny"] },
  follow_up: { states: ["replied"], hint: ["已答复的工单：电话回访并记录满意度；不满意即重办", "Answered cases: call the citizen and record the rating; unsatisfied means 重办 (redo)"] },
  supervise: { states: OPEN, hint: ["任一在办工单均可督办，并附督办意见", "Raise 督办 on any open case, with a note"] },
};
const page = { user: null, view: "returned", open: null, cursor: null };

async function main() {
  const { user } = await startPage();
  page.user = user;
  fillSelect($("#f-light"), LIGHTS);
  for (const tab of $$("[role=tab]")) tab.addEventListener("click", () => choose(tab.dataset.view));
  $("#search").addEventListener("submit", (event) => {
    event.preventDefault();
    loadList();
  });
  $("#f-light").addEventListener("change", () => loadList());
  $("#more").addEventListener("click", () => loadList(page.cursor));
  $("#case-reload").addEventListener("click", () => openCase(page.open));
  const hash = new URLSearchParams(location.hash.slice(1));
  await choose(VIEWS[hash.get("view")] ? hash.get("view") : "returned");
  if (Number(hash.get("ticket"))) await openCase(Number(hash.get("ticket")));
  watchCases($("#stream-state"), onChange, () => reloadList());
  document.body.dataset.ready = "true";
}

async function choose(view) {
  page.view = view;
  for (const tab of $$("[role=tab]")) {
    tab.setAttribute("aria-selected", String(tab.dataset.view === view));
    if (tab.dataset.view === view) $("#cases-panel").setAttribute("aria-labelledby", tab.id);
  }
  $("#search").hidden = view !== "supervise";
  const [zh, en] = VIEWS[view].hint;
  $("#view-hint").textContent = biText(zh, en);
  remember();
  await loadList();
}

async function loadList(cursor = null) {
  const q = page.view === "supervise" ? $("#q").value.trim() : "";
  const request = q
    ? () => api("/api/search/tickets", { query: { q, cursor } })
    : () => api("/api/tickets", { query: { state: VIEWS[page.view].states, cursor, limit: 50,
      light: page.view === "supervise" ? $("#f-light").value : "" } });
  const list = await act(null, request);
  if (!list) return;
  const items = list.items.filter((t) => !q || OPEN.includes(t.state))
    .map((t) => caseItem(t, { onOpen: openCase, current: t.id === page.open }));
  if (cursor) $("#cases").append(...items);
  else $("#cases").replaceChildren(...(items.length ? items : [el("li", { class: "empty" }, biText("没有工单", "no case"))]));
  page.cursor = list.next_cursor;
  $("#more").hidden = !list.next_cursor;
}

async function openCase(id) {
  page.open = id;
  remember();
  $("#case-changed").hidden = true;
  for (const item of $$("#cases li[data-ticket]")) {
    item.setAttribute("aria-current", item.dataset.ticket === String(id) ? "true" : "false");
  }
  await showCase($("#case"), id, { canCall: true, onChange: () => loadList(), reload: () => openCase(id) });
}

function remember() {
  history.replaceState(null, "", `#view=${page.view}${page.open ? `&ticket=${page.open}` : ""}`);
}

/** Cases change under the dispatcher all day: the list is read again, the open case only flagged. */
function onChange(change) {
  const mine = change.actor === page.user.username;
  if (!mine && ["return", "request_extension", "reply"].includes(change.action)) showMessage(describeChange(change));
  reloadList();
  if (change.ticket_id === page.open && !mine) $("#case-changed").hidden = false;
}

const reloadList = settled(() => loadList().catch(showError));

main().catch(showError);
