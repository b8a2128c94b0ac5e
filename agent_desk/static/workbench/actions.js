// The case's actions: exactly those the server lists for this person and this ticket now
// (GET /api/tickets/{id}/actions, from ticketing/actions.py), each with the fields of its payload.
// Every action is sent with the version the page read: a case someone changed since answers 409,
// which the page says and then reloads, so nobody acts on a case they have not seen.

import { api, ApiError } from "../shell/api.js";
import { el } from "../shell/dom.js";
import { ACTIONS, RATINGS, bi, biText } from "../shell/i18n.js";
import { act, showMessage } from "../shell/shell.js";

// Per action: its payload's fields. kind: text | textarea | datetime | units | rating.
const REASON = { name: "reason", kind: "textarea", zh: "理由", en: "Reason" };
const FORMS = {
  sign: [],
  archive: [],
  return: [{ ...REASON, required: true }],
  escalate: [{ ...REASON, required: true }],
  supervise: [{ ...REASON, zh: "督办意见", en: "Supervision note", required: true }],
  request_extension: [
    { name: "until", kind: "datetime", zh: "延至", en: "New due date", required: true },
    { ...REASON, required: true },
  ],
  approve_extension: [REASON],
  deny_extension: [{ ...REASON, required: true }],
  reply: [{ name: "answer", kind: "textarea", zh: "答复内容", en: "Reply", required: true }],
  close_direct: [{ name: "answer", kind: "textarea", zh: "答复内容", en: "Answer", required: true }],
  note: [{ name: "text", kind: "textarea", zh: "备注内容", en: "Note", required: true }],
  dispatch: [
    { name: "lead_unit_id", kind: "text", zh: "主办单位（留空按规则派单）", en: "Lead unit (empty: by the routing rules)" },
    { name: "co_handler_ids", kind: "units", zh: "协办单位", en: "Co-handlers, comma-separated" },
    REASON,
  ],
  rule: [
    { name: "lead_unit_id", kind: "text", zh: "主办单位", en: "Lead unit", required: true },
    { name: "co_handler_ids", kind: "units", zh: "协办单位", en: "Co-handlers, comma-separated" },
    REASON,
  ],
  follow_up: [
    { name: "rating", kind: "rating", zh: "回访结果", en: "Rating", required: true },
    { ...REASON, zh: "说明", en: "Remark" },
  ],
};
const PRIMARY = new Set(["sign", "reply", "approve_extension", "dispatch", "rule", "follow_up"]);
const DANGER = new Set(["return", "deny_extension", "escalate"]);

/** What this person may do to case `id` now, as the server says. */
export function allowedActions(id) {
  return api(`/api/tickets/${id}/actions`);
}

/**
 * Draw the action forms for `ticket` into `box`: `allowed` is `allowedActions`' answer.
 * `onDone(view)` runs after a successful action; `reload()` after a conflict. `canCall`: the person
 * may place the 回访 call (not handlers).
 */
export function drawActions(box, ticket, allowed, { onDone, reload, canCall }) {
  box.replaceChildren(
    el("h3", {}, bi("可办理操作", "Actions")),
    allowed.actions.length
      ? el("div", { class: "action-list" }, allowed.actions.map((name) => actionForm(name, ticket, { onDone, reload, canCall })))
      : el("p", { class: "empty" }, biText("当前状态下您无可办理的操作", "nothing you may do in this state")),
  );
  box.dataset.actions = allowed.actions.join(" ");
  const choosing = allowed.actions.filter((name) => name === "dispatch" || name === "rule");
  if (choosing.length) suggest(box, ticket, choosing);
}

/** Under 派单 and 审定: what the routing rules would choose now, to take with one click. */
async function suggest(box, ticket, forms) {
  let advice;
  try {
    advice = await api(`/api/tickets/${ticket.id}/routing`);
  } catch {
    return; // a suggestion only: the forms work without it
  }
  for (const name of forms) {
    const form = box.querySelector(`form[data-action="${name}"]`);
    if (!form) continue;
    const units = [advice.lead_unit_id, ...advice.co_handler_ids].join(", ");
    form.prepend(el("p", { class: "muted suggestion" }, `${biText("规则建议", "The rules suggest")}: ${units} `,
      el("button", { type: "button", id: `act-${name}-suggested`, onclick: () => {
        form.elements.lead_unit_id.value = advice.lead_unit_id;
        form.elements.co_handler_ids.value = advice.co_handler_ids.join(", ");
      } }, bi("采用", "Use"))));
  }
}

function actionForm(name, ticket, { onDone, reload, canCall }) {
  const fields = FORMS[name] || [];
  const [zh, en] = ACTIONS[name] || [name, name];
  const id = (field) => `act-${name}-${field.name}`;
  const button = el("button", { type: "submit", class: PRIMARY.has(name) ? "primary" : DANGER.has(name) ? "danger" : null,
    id: `act-${name}` }, bi(zh, en));
  const form = el("form", { class: "action", dataset: { action: name } },
    fields.map((field) => el("div", { class: "field" },
      el("label", { for: id(field) }, field.zh, " ", el("span", { class: "en" }, field.en),
        field.required ? el("span", { class: "required" }, " *") : null),
      input(field, id(field)))),
    el("div", { class: "row" }, button,
      name === "follow_up" && canCall && ticket.caller_number
        ? el("button", { type: "button", id: "follow-up-call", onclick: (event) => callCitizen(event.currentTarget, ticket) },
          bi("回访电话", "Call the citizen"), " ", el("span", { class: "muted" }, ticket.caller_number))
        : null),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = payload(fields, form);
    const view = await act(button, () => send(ticket, name, body).catch((err) => conflict(err, reload)));
    if (view) {
      showMessage(`${biText(zh, en)}: ${view.number} → ${view.state_label} ${view.state}`);
      onDone(view);
    }
  });
  return form;
}

function input(field, id) {
  const common = { id, name: field.name, "aria-required": field.required ? "true" : null };
  if (field.kind === "textarea") return el("textarea", { ...common, rows: 2, maxlength: 4000 });
  if (field.kind === "datetime") return el("input", { ...common, type: "datetime-local" });
  if (field.kind === "rating") {
    return el("select", common, Object.entries(RATINGS).map(([value, [zh, en]]) => el("option", { value }, `${zh} ${en}`)));
  }
  return el("input", { ...common, type: "text", maxlength: field.kind === "units" ? 1000 : 48, autocomplete: "off" });
}

/** The form's values as the action's payload: empty optional fields are left out. */
function payload(fields, form) {
  const body = {};
  for (const field of fields) {
    const raw = form.elements[field.name].value.trim();
    if (field.kind === "units") {
      const ids = raw.split(/[,，\s]+/).filter(Boolean);
      if (ids.length) body[field.name] = ids;
    } else if (field.kind === "datetime") {
      if (raw) body[field.name] = new Date(raw).toISOString(); // the local time typed, as an instant
    } else if (raw || field.required) {
      body[field.name] = raw;
    }
  }
  return body;
}

function send(ticket, name, body) {
  return api(`/api/tickets/${ticket.id}/actions/${name}`, { method: "POST", body, query: { version: ticket.version } });
}

/** A case changed by someone else since this page read it: say so, and read it again. */
async function conflict(err, reload) {
  if (err instanceof ApiError && err.status === 409 && /changed concurrently/.test(err.detail)) {
    showMessage(`${biText("该工单已被他人更新，已重新载入，请核对后再办理",
      "Someone else changed this case; it was reloaded: check it and act again")} (${err.detail})`, "error");
    await reload();
    return undefined;
  }
  throw err;
}

async function callCitizen(control, ticket) {
  const accepted = await act(control, () => api(`/api/tickets/${ticket.id}/follow-up-call`, { method: "POST" }));
  if (accepted) showMessage(`${biText("正在呼叫", "Calling")}: ${accepted.detail}`);
}
