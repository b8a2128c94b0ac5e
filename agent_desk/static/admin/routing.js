// Routing rules: edit the ordered rules, preview sample requests under the proposed rules against
// the rules in use, then save. The server validates (known words, unique names, a last `always`
// rule) and audits every save with the rules before and after.

import { api } from "../shell/api.js";
import { $, $$, el } from "../shell/dom.js";
import { bi, biText } from "../shell/i18n.js";
import { act, showMessage } from "../shell/shell.js";
import { choices, table } from "./form.js";

let vocabulary = null;
let samples = [];

export async function show(root) {
  const answer = await api("/api/admin/routing/rules");
  vocabulary = answer;
  samples = answer.samples;
  const rules = el("tbody", { id: "rules" }, answer.rules.map((rule, i) => ruleRow(rule, i)));
  const add = el("button", { type: "button", id: "rule-add" }, bi("添加规则", "Add a rule"));
  add.addEventListener("click", () => {
    const row = ruleRow({ name: "", when: "place_is_county", lead: "county_unit", co: "none", explain: "" }, rules.children.length);
    if (rules.lastElementChild) rules.lastElementChild.before(row); // the last rule stays the `always` one
    else rules.append(row);
    row.querySelector("input").focus();
    renumber();
  });
  const preview = el("button", { type: "button", id: "rule-preview", class: "primary" }, bi("预览", "Preview"));
  preview.addEventListener("click", () => act(preview, () => showPreview()));
  const save = el("button", { type: "button", id: "rule-save" }, bi("保存", "Save"));
  save.addEventListener("click", () => act(save, async () => {
    const saved = await api("/api/admin/routing/rules", { method: "PUT", body: { rules: proposed() } });
    showMessage(biText("派单规则已保存，新派单即按此规则", "Routing rules saved: new dispatches follow them"));
    $("#rule-source").textContent = sourceText(saved.source);
  }));
  root.append(
    el("p", { id: "rule-source" }, sourceText(answer.source)),
    el("p", { class: "muted" }, bi("按顺序匹配：第一条成立的规则决定；最后一条须为 always。",
      "In order: the first rule whose condition holds decides; the last must be `always`.")),
    el("table", {}, el("thead", {}, el("tr", {}, [["#", "#"], ["名称", "Name"], ["条件", "When"], ["主办", "Lead"], ["协办", "Co-handlers"], ["说明", "Explanation"], ["操作", "Actions"]]
      .map(([zh, en]) => el("th", { scope: "col" }, zh === en ? zh : bi(zh, en))))), rules),
    el("div", { class: "tools" }, add, preview, save),
    el("div", { id: "rule-preview-result", "aria-live": "polite" }));
}

function sourceText(source) {
  return source === "database"
    ? biText("当前规则：管理员保存于数据库", "Rules in use: saved by an administrator (database)")
    : biText("当前规则：规则文件（尚未在此保存）", "Rules in use: the rules file (none saved here yet)");
}

function ruleRow(rule, i) {
  const n = i + 1;
  const pick = (name, list, value) => choices(list.map((w) => [w, w]), value, { "data-field": name, "aria-label": `${name} ${n}` });
  const up = el("button", { type: "button", "aria-label": biText("上移", "Move up") }, "↑");
  const remove = el("button", { type: "button", "aria-label": biText("删除", "Remove") }, "✕");
  const row = el("tr", { class: "rule" },
    el("td", { class: "position" }, String(n)),
    el("td", {}, el("input", { "data-field": "name", value: rule.name, maxlength: 64, "aria-label": `name ${n}` })),
    el("td", {}, pick("when", vocabulary.when, rule.when)),
    el("td", {}, pick("lead", vocabulary.lead, rule.lead)),
    el("td", {}, pick("co", vocabulary.co, rule.co)),
    el("td", {}, el("input", { "data-field": "explain", value: rule.explain, maxlength: 400, class: "wide-text", "aria-label": `explain ${n}` })),
    el("td", {}, el("div", { class: "tools" }, up, remove)));
  up.addEventListener("click", () => { if (row.previousElementSibling) row.previousElementSibling.before(row); renumber(); });
  remove.addEventListener("click", () => { row.remove(); renumber(); });
  return row;
}

function renumber() {
  $$("#rules tr.rule").forEach((row, i) => { row.querySelector(".position").textContent = String(i + 1); });
}

function proposed() {
  return $$("#rules tr.rule").map((row) => Object.fromEntries(
    $$("[data-field]", row).map((input) => [input.dataset.field, input.value.trim()])));
}

async function showPreview() {
  const answer = await api("/api/admin/routing/preview", { method: "POST", body: { rules: proposed(), samples } });
  const outcome = (o) => o.error ? el("span", { class: "light red" }, o.error)
    : el("div", {}, el("strong", {}, o.lead), o.co_handlers.length ? el("div", { class: "muted" }, `+ ${o.co_handlers.join("、")}`) : null,
      el("div", { class: "muted" }, o.rule));
  $("#rule-preview-result").replaceChildren(
    el("h3", {}, bi("预览：样例诉求的派单", "Preview: where sample requests go")),
    table([["样例", "Sample"], ["现行规则", "Rules in use"], ["新规则", "Proposed rules"], ["依据", "Why (proposed)"]],
      answer.rows.map((row) => el("tr", { class: row.changed ? "changed" : null },
        el("td", {}, row.sample.label, row.changed ? el("div", {}, el("span", { class: "badge warn" }, bi("有变化", "changed"))) : null),
        el("td", {}, outcome(row.current)), el("td", {}, outcome(row.proposed)),
        el("td", {}, row.proposed.reasons.join("；")))), { id: "preview-table" }));
}
