// Small builders for the administration forms: a labelled control, a select of choices, a table.

import { el } from "../shell/dom.js";
import { bi } from "../shell/i18n.js";

/** A control with its <label for>: `field("u-name", "用户名", "Username", el("input", {…}))`. */
export function field(id, zh, en, control) {
  control.id = id;
  return el("div", {}, el("label", { for: id }, bi(zh, en)), control);
}

/** <select> of [value, text] pairs with `selected` chosen. */
export function choices(pairs, selected, attrs = {}) {
  return el("select", attrs, pairs.map(([value, text]) =>
    el("option", { value, selected: value === selected }, text)));
}

/** A table: `headers` are [zh, en] pairs, `rows` arrays of cells (nodes or text). */
export function table(headers, rows, attrs = {}) {
  return el("table", attrs,
    el("thead", {}, el("tr", {}, headers.map(([zh, en]) => el("th", { scope: "col" }, bi(zh, en))))),
    el("tbody", {}, rows));
}
