// Working calendar: which years are covered and from where (package, admin, config); a year's State
// Council notice (holidays and 调休 working days) entered here; the deadlines a dispatch gets under
// the calendar in use, to see an entry take effect at once.

import { api } from "../shell/api.js";
import { $, $$, el } from "../shell/dom.js";
import { bi, biText } from "../shell/i18n.js";
import { act, showMessage } from "../shell/shell.js";
import { choices, field, table } from "./form.js";

const SOURCES = { package: ["软件包", "package"], admin: ["管理员录入", "admin"], config: ["配置文件", "config"] };
const KINDS = [["holiday", "放假 holiday"], ["workday", "调休上班 working day"]];

export async function show(root) {
  const coverage = await api("/api/admin/calendar");
  const years = el("div", { id: "calendar-years" });
  const editor = el("div", { id: "calendar-editor" });
  root.append(el("div", { class: "split" }, el("div", {}, years, deadlineForm(coverage.timezone)), editor));
  drawYears(years, coverage, editor);
  const uncovered = coverage.years.find((y) => y.sources.length === 0);
  await openYear(editor, (uncovered || coverage.years[coverage.years.length - 1]).year);
}

function sourceWords(sources) {
  if (!sources.length) return el("span", { class: "light red" }, bi("未覆盖：仅周末与固定日期节日", "not covered: weekends and fixed-date holidays only"));
  return sources.map((s) => el("span", { class: "badge" }, biText(...SOURCES[s]))).reduce((all, b) => all.concat(b, " "), []);
}

function drawYears(box, coverage, editor) {
  box.replaceChildren(el("h3", {}, bi("覆盖的年份", "Years covered")),
    table([["年份", "Year"], ["来源", "Source"], ["操作", "Actions"]], coverage.years.map((y) => {
      const open = el("button", { type: "button", "aria-label": `编辑 Edit ${y.year}` }, bi("编辑", "Edit"));
      open.addEventListener("click", () => act(open, () => openYear(editor, y.year)));
      return el("tr", { dataset: { year: y.year } }, el("td", {}, String(y.year)), el("td", { class: "sources" }, sourceWords(y.sources)), el("td", {}, open));
    }), { id: "years-table" }));
}

async function openYear(editor, year) {
  const view = await api(`/api/admin/calendar/${year}`);
  const days = table([["日期", "Day"], ["类型", "Kind"], ["节日", "Note"], ["操作", "Actions"]], view.days.map((d) => dayRow(d, year)));
  const body = days.querySelector("tbody");
  body.id = "notice-days";
  const add = el("button", { type: "button", id: "day-add" }, bi("添加一天", "Add a day"));
  add.addEventListener("click", () => { const row = dayRow({ day: "", workday: false, note: "" }, year); body.append(row); row.querySelector("input").focus(); });
  const range = el("button", { type: "button", id: "range-add" }, bi("添加连续放假", "Add a holiday range"));
  const from = el("input", { type: "date", min: `${year}-01-01`, max: `${year}-12-31` });
  const to = el("input", { type: "date", min: `${year}-01-01`, max: `${year}-12-31` });
  const note = el("input", { maxlength: 64, placeholder: "春节" });
  range.addEventListener("click", () => {
    if (!from.value || !to.value) return;
    for (let d = new Date(`${from.value}T00:00:00Z`); d <= new Date(`${to.value}T00:00:00Z`); d.setUTCDate(d.getUTCDate() + 1)) {
      body.append(dayRow({ day: d.toISOString().slice(0, 10), workday: false, note: note.value.trim() }, year));
    }
  });
  const save = el("button", { type: "button", id: "notice-save", class: "primary" }, bi(`保存 ${year} 年`, `Save ${year}`));
  save.addEventListener("click", () => act(save, async () => {
    const days = $$("#notice-days tr").map((row) => ({
      day: row.querySelector("[data-field=day]").value, workday: row.querySelector("[data-field=kind]").value === "workday",
      note: row.querySelector("[data-field=note]").value.trim() })).filter((d) => d.day);
    const saved = await api(`/api/admin/calendar/${year}`, { method: "PUT", body: { days } });
    showMessage(biText(`${year} 年工作日历已保存，时限即时生效`, `${year} calendar saved: deadlines use it now`));
    const coverage = await api("/api/admin/calendar");
    drawYears($("#calendar-years"), coverage, editor);
    return saved;
  }));
  editor.replaceChildren(
    el("h3", {}, bi(`${year} 年国务院放假安排`, `${year}: the State Council's holidays`), " ", el("span", { id: "year-sources" }, sourceWords(view.sources))),
    el("p", { class: "muted" }, bi("录入通知中的全部放假日与调休上班日；其余按周一至周五上班。",
      "Enter every holiday and 调休 working day of the notice; other days follow Monday–Friday.")),
    el("div", { class: "row" }, field("range-from", "从", "From", from), field("range-to", "到", "To", to),
      field("range-note", "节日", "Holiday", note), range),
    days,
    el("div", { class: "tools" }, add, save));
}

function dayRow(d, year) {
  const remove = el("button", { type: "button", "aria-label": biText("删除", "Remove") }, "✕");
  const bounds = year ? { min: `${year}-01-01`, max: `${year}-12-31` } : {};
  const row = el("tr", {},
    el("td", {}, el("input", { type: "date", "data-field": "day", value: d.day, "aria-label": biText("日期", "Day"), ...bounds })),
    el("td", {}, choices(KINDS, d.workday ? "workday" : "holiday", { "data-field": "kind", "aria-label": biText("类型", "Kind") })),
    el("td", {}, el("input", { "data-field": "note", value: d.note, maxlength: 64, "aria-label": biText("节日", "Note") })),
    el("td", {}, remove));
  remove.addEventListener("click", () => row.remove());
  return row;
}

function deadlineForm(timezone) {
  const at = el("input", { type: "datetime-local", required: true });
  const result = el("div", { id: "deadline-result", "aria-live": "polite" });
  const f = el("form", { id: "deadline-form", class: "panel" },
    el("h3", {}, bi("时限试算", "Deadline check")),
    field("deadline-at", `派单时间（${timezone}）`, "Dispatched at", at),
    el("button", { type: "submit", id: "deadline-go" }, bi("计算", "Compute")), result);
  f.addEventListener("submit", (event) => {
    event.preventDefault();
    result.replaceChildren();  // never show the last answer beside a new question
    act($("#deadline-go"), async () => {
      const d = await api("/api/admin/calendar/deadlines", { query: { at: at.value } });
      const local = (iso) => iso.slice(0, 16).replace("T", " ");
      result.replaceChildren(
        el("div", {}, bi("签收时限", "Sign off by"), " ", el("strong", { id: "sign-due" }, local(d.sign_due_at))),
        el("div", {}, bi("办结时限", "Resolve by"), " ", el("strong", { id: "resolution-due" }, local(d.resolution_due_at))));
    });
  });
  return f;
}
