// Administration (/admin): users, Open311 clients, routing rules, the working calendar and the
// knowledge base, one tab each (the section in the URL's hash). Every change goes through the
// admin API, which validates and audits it; a refusal shows the server's words.

import { $, $$, el } from "../shell/dom.js";
import { showError, startPage } from "../shell/shell.js";
import { arrowKeys } from "../shell/tabs.js";
import * as calendar from "./calendar.js";
import * as clients from "./clients.js";
import * as kb from "./kb.js";
import * as routing from "./routing.js";
import * as units from "./units.js";
import * as users from "./users.js";

const SECTIONS = { users, clients, units, routing, calendar, kb };

function current() {
  const name = location.hash.slice(1);
  return name in SECTIONS ? name : "users";
}

async function draw() {
  const name = current();
  document.body.dataset.ready = "false";
  for (const tab of $$("[role=tab]")) tab.setAttribute("aria-selected", String(tab.dataset.view === name));
  const root = $("#view");
  root.replaceChildren(el("h2", { class: "visually-hidden" }, $(`#tab-${name}`).textContent));
  root.setAttribute("aria-labelledby", `tab-${name}`);
  try {
    await SECTIONS[name].show(root);
  } finally {
    document.body.dataset.ready = "true"; // the test harness waits for this
  }
}

async function main() {
  await startPage();
  for (const tab of $$("[role=tab]")) {
    tab.addEventListener("click", () => { location.hash = tab.dataset.view; });
  }
  arrowKeys($(".tabs"));
  window.addEventListener("hashchange", () => draw().catch(showError));
  await draw();
}

main().catch((err) => {
  showError(err);
  document.body.dataset.ready = "true";
});
