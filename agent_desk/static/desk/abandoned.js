// Abandoned callers of the agent's own queues: claim (one agent per caller), call back (Originate),
// record the result.

import { api } from "../shell/api.js";
import { $, el } from "../shell/dom.js";
import { CALLBACK_RESULTS, biText, label, time } from "../shell/i18n.js";
import { act, showMessage } from "../shell/shell.js";

export function startAbandoned() {
  refresh();
  setInterval(refresh, 10000);
}

export async function refresh() {
  let page;
  try {
    page = await api("/api/agent/abandoned");
  } catch (err) {
    $("#abandoned-list").replaceChildren(el("li", { class: "empty" }, `${err.status || ""} ${err.detail || err.message}`));
    return;
  }
  const open = page.items.filter((c) => !c.claim || (c.claim.mine && !c.claim.result));
  $("#abandoned-count").textContent = open.length ? String(open.length) : "";
  $("#abandoned-list").replaceChildren(...(page.items.length ? page.items.map(row)
    : [el("li", { class: "empty" }, biText("今日无放弃呼叫", "no abandoned callers today"))]));
}

function row(call) {
  const claim = call.claim;
  const who = claim ? (claim.mine ? biText("我已认领", "claimed by me") : `${claim.claimed_by} ${biText("已认领", "claimed")}`)
    : biText("未认领", "unclaimed");
  const actions = [];
  if (!claim) actions.push(el("button", { type: "button", onclick: (e) => post(e.currentTarget, call, "claim") }, biText("认领", "Claim")));
  if (claim && claim.mine) {
    actions.push(el("button", { type: "button", class: "primary", onclick: (e) => post(e.currentTarget, call, "callback") },
      biText("回拨", "Call back")));
    const select = el("select", { id: `result-${call.call_id}`, "aria-label": biText("回拨结果", "Call-back result") },
      ...Object.keys(CALLBACK_RESULTS).map((r) => el("option", { value: r, selected: claim.result === r }, label(CALLBACK_RESULTS, r))));
    actions.push(select, el("button", { type: "button", onclick: (e) => post(e.currentTarget, call, "result", { result: select.value }) },
      biText("记录结果", "Record result")));
  }
  return el("li", { dataset: { call: call.call_id } },
    el("div", { class: "title" }, `${call.caller_number || biText("未知号码", "unknown")} · ${call.queue}`),
    el("div", { class: "muted" }, `${time(call.entered_at)} · ${biText("等待", "waited")} ${Math.round(call.wait_seconds || 0)} s · ${who}`),
    claim && claim.called_at ? el("div", { class: "muted" }, `${biText("已回拨", "called back")} ${time(claim.called_at)} ×${claim.attempts}`) : null,
    claim && claim.result ? el("div", {}, `${biText("结果", "result")}: ${label(CALLBACK_RESULTS, claim.result)}`) : null,
    el("div", { class: "row" }, actions));
}

async function post(button, call, what, body) {
  const done = await act(button, () => api(`/api/agent/abandoned/${call.call_id}/${what}`, { method: "POST", body }));
  if (done) {
    showMessage(done.detail || `${call.caller_number}: ${label({ claim: ["已认领", "claimed"], result: ["已记录", "recorded"] }, what)}`);
    await refresh();
  }
}
