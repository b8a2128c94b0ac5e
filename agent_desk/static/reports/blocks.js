// Report blocks: a title, a chart and the table under it, drawn from one API answer. The report page
// and the printable monthly report both use them. Figures are shown as the API gives them (a rate as
// a percentage of the API's ratio); every table cell keeps the API's value in data-value.

import { api } from "../shell/api.js";
import { el } from "../shell/dom.js";
import { bi, biText } from "../shell/i18n.js";
import { init } from "../vendor/echarts/echarts.js";

const DASH = "–";

export const fmt = {
  int: (v) => (v === null || v === undefined ? DASH : String(v)),
  rate: (v) => (v === null || v === undefined ? DASH : `${(v * 100).toFixed(1)}%`),
  seconds: (v) => (v === null || v === undefined ? DASH : `${v.toFixed(1)} 秒`),
  number: (v) => (v === null || v === undefined ? DASH : String(v)),
  text: (v) => (v === null || v === undefined ? DASH : String(v)),
  time: (v) => (v ? new Date(v).toLocaleString("zh-CN", { hour12: false }) : DASH),
};

/** Every row of a report view: the API pages by cursor, the report wants the whole table. */
export async function allRows(path, query) {
  const rows = [];
  let cursor = null;
  do {
    const page = await api(path, { query: { ...query, cursor, limit: 500 } });
    rows.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return rows;
}

/** A column: the API field, its Chinese and English heading, how to show it. */
export function col(key, zh, en, show = fmt.int) {
  return { key, zh, en, show };
}

/** The table under a chart; `rowHead(row)` gives the first cell (a name, a day), `extra(row)` a last one. */
export function table(columns, rows, { caption, rowHead, extra } = {}) {
  const head = el("tr", {}, columns.map((c) => el("th", { scope: "col" }, c.zh, " ", el("span", { class: "en" }, c.en))));
  if (extra) head.append(el("th", { scope: "col" }, el("span", { class: "visually-hidden" }, biText("操作", "Action"))));
  const body = rows.map((row) => {
    const cells = columns.map((c, i) => {
      const value = row[c.key];
      const text = i === 0 && rowHead ? rowHead(row) : c.show(value);
      return el(i === 0 ? "th" : "td", { scope: i === 0 ? "row" : null, "data-field": c.key,
        "data-value": value === null || value === undefined ? "" : String(value) }, text);
    });
    if (extra) cells.push(el("td", {}, extra(row)));
    return el("tr", {}, cells);
  });
  return el("table", { class: "report-table" },
    caption ? el("caption", {}, caption) : null,
    el("thead", {}, head),
    el("tbody", {}, body.length ? body : [el("tr", {}, el("td", { colspan: columns.length, class: "empty" },
      bi("此期间没有数据", "No data in this period")))]));
}

const charts = new Set();

/** An ECharts chart on a canvas; tooltips drawn on the canvas too (no HTML, no inline styles). */
export function chart(container, label, option, { print = false } = {}) {
  const node = el("div", { class: print ? "chart print" : "chart", role: "img", "aria-label": label });
  container.append(node);
  const instance = init(node, null, { renderer: "canvas", locale: "ZH", devicePixelRatio: print ? 2 : undefined });
  instance.setOption({
    animation: false,
    aria: { enabled: true },
    textStyle: { fontFamily: "Noto Sans CJK SC, Microsoft YaHei, sans-serif" },
    tooltip: { trigger: "axis", renderMode: "richText" },
    legend: { top: 0 },
    grid: { left: 50, right: 50, top: 56, bottom: 30, containLabel: true },
    ...option,
  });
  charts.add(instance);
  return instance;
}

export function disposeCharts(root) {
  for (const instance of [...charts]) {
    if (root.contains(instance.getDom())) {
      instance.dispose();
      charts.delete(instance);
    }
  }
}

window.addEventListener("resize", () => charts.forEach((c) => c.resize()));

/** Percent axis for rates (the API's ratios, 0–1). */
export const rateAxis = { type: "value", min: 0, max: 1, axisLabel: { formatter: (v) => `${Math.round(v * 100)}%` } };

export function series(name, rows, key, type = "bar", extra = {}) {
  return { name, type, data: rows.map((r) => r[key]), ...extra };
}

/** A block: heading, export buttons (CSV, XLSX of exactly this API query), chart, table. */
export function block(id, zh, en, { exports } = {}) {
  const heading = el("h3", { id: `${id}-title` }, zh, " ", el("span", { class: "en" }, en));
  const tools = el("div", { class: "block-tools" });
  if (exports) {
    for (const format of ["csv", "xlsx"]) {
      tools.append(el("button", { type: "button", class: "export", "data-format": format, onclick: exports(format),
        "aria-label": `${biText(`导出 ${format.toUpperCase()}`, `Export ${format.toUpperCase()}`)} ${zh}` },
      `导出 ${format.toUpperCase()}`));
    }
  }
  return el("section", { class: "block", id, "aria-labelledby": `${id}-title` },
    el("div", { class: "block-head" }, heading, tools));
}
