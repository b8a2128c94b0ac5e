// 承办工作台 Handler workbench: the unit's inbox, most urgent first, with lights, working-time
// countdowns and 督办 badges, filtered by state, light, category and region; new dispatches and
// supervision arrive live; the case opens beside the list with the actions the server allows.

import { api } from "../shell/api.js";
import { $, el } from "../shell/dom.js";
import { CATEGORIES, LIGHTS, biText } from "../shell/i18n.js";
import { act, showError, showMessage, startPage } from "../shell/shell.js";
import { showCase } from "../workbench/case.js";
import { caseItem, describeChange, fillSelect, settled, watchCases } from "../workbench/cases.js";

const INBOX_STATES = {
  dispatched: ["待签收", "to sign"],
  handling: ["办理中", "handling"],
  extension_requested: ["延期申请中", "extension requested"],
};
const page = { user: null, open: null, cursor: null };

async function main() {
  const { user } = await startPage();
  page.user = user;
  fillSelect($("#f-state"), INBOX_STATES);
  fillSelect($("#f-light"), LIGHTS);
  fillSelect($("#f-category"), CATEGORIES);
  const cities = await act(null, () => api("/api/regions"));
  $("#f-region").replaceChildren(el("option", { value: "" }, biText("全部", "all")),
    ...(cities ? cities.items : []).map((r) => el("option", { value: r.code }, r.name)));
  $("#filters").addEventListener("change", () => loadInbox());
  $("#filters").addEventListener("submit", (event) => event.preventDefault());
  $("#more").addEventListener("click", () => loadInbox(page.cursor));
  $("#case-reload").addEventListener("click", () => openCase(page.open));
  await loadInbox();
  const wanted = Number(new URLSearchParams(location.hash.slice(1)).get("ticket"));
  if (wanted) await openCase(wanted);
  watchCases($("#stream-state"), onChange, () => reloadList());
  document.body.dataset.ready = "true";
}

function filters() {
  const form = $("#filters");
  return Object.fromEntries(["state", "light", "category", "region"].map((name) => [name, form.elements[name].value]));
}

async function loadInbox(cursor = null) {
  const list = await act(null, () => api("/api/inbox", { query: { ...filters(), cursor, limit: 50 } }));
  if (!list) return;
  const items = list.items.map((t) => caseItem(t, { onOpen: openCase, current: t.id === page.open, unitId: page.user.unit_id }));
  if (cursor) $("#inbox").append(...items);
  else $("#inbox").replaceChildren(...(items.length ? items : [el("li", { class: "empty" }, biText("没有待办工单", "nothing waiting"))]));
  page.cursor = list.next_cursor;
  $("#more").hidden = !list.next_cursor;
}

async function openCase(id) {
  page.open = id;
  history.replaceState(null, "", `#ticket=${id}`);
  $("#case-changed").hidden = true;
  for (const item of document.querySelectorAll("#inbox li[data-ticket]")) {
    item.setAttribute("aria-current", item.dataset.ticket === String(id) ? "true" : "false");
  }
  await showCase($("#case"), id, { onChange: () => loadInbox(), reload: () => openCase(id) });
}

/** A change to a case of the unit: the inbox is read again; the open case is only flagged, so
 * nothing typed into it is lost (acting on it anyway meets the version check). */
function onChange(change) {
  const mine = change.actor === page.user.username;
  if (!mine && ["dispatch", "rule", "supervise"].includes(change.action)) showMessage(describeChange(change));
  reloadList();
  if (change.ticket_id === page.open && !mine) $("#case-changed").hidden = false;
}

const reloadList = settled(() => loadInbox().catch(showError));

main().catch(showError);
