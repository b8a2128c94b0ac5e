// The agent workstation (/desk): status bar, screen pop and call controls, ticket form, and the
// tools (knowledge base, abandoned callers, find a ticket). Every action goes through the public,
// scoped API; what the server refuses is shown in its own words.

import { $, $$ } from "../shell/dom.js";
import { shortcuts, showError, startPage } from "../shell/shell.js";
import { refresh as refreshAbandoned, startAbandoned } from "./abandoned.js";
import { openTimeline, startFind } from "./find.js";
import { startKb } from "./kb.js";
import { startPops, transfer } from "./pop.js";
import { desk } from "./state.js";
import { startStatus, togglePause } from "./status.js";
import { focusCreate, startTicketForm } from "./ticket_form.js";

function selectTab(name) {
  for (const tab of $$('[role="tab"]')) {
    const selected = tab.id === `tab-${name}`;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
    $(`#${tab.getAttribute("aria-controls")}`).hidden = !selected;
  }
  if (name === "abandoned") refreshAbandoned();
}

function openTicket(id) {
  selectTab("find");
  return openTimeline(id);
}

async function main() {
  const { user } = await startPage();
  desk.user = user;
  for (const tab of $$('[role="tab"]')) tab.addEventListener("click", () => selectTab(tab.id.slice(4)));
  shortcuts({
    "Alt+P": () => togglePause(),
    "Alt+T": () => ($("#transfer-to").value ? transfer() : $("#transfer-to").focus()),
    "Alt+N": () => focusCreate(),
    "Alt+F": () => { selectTab("find"); $("#find-q").focus(); },
    "Alt+K": () => { selectTab("kb"); $("#kb-q").focus(); },
  });
  startKb();
  startFind();
  await startStatus();
  await startTicketForm({ openTicket });
  startPops({ openTicket });
  startAbandoned();
  document.body.dataset.ready = "true";
}

main().catch(showError);
