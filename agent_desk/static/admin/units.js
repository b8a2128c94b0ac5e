// Handling units: a region's platform or office and departments, each renamable (the id, kind and
// place come from the directory). The server refuses an empty name or one another unit of the region
// has, and audits each rename.

import { api } from "../shell/api.js";
import { $, el } from "../shell/dom.js";
import { bi, biText } from "../shell/i18n.js";
import { act, showMessage } from "../shell/shell.js";
import { field, table } from "./form.js";

export async function show(root) {
  const region = el("input", { required: true, pattern: "\\d{6}", maxlength: 6, value: "320100", inputmode: "numeric" });
  const f = el("form", { id: "unit-find", class: "row" }, field("unit-region", "地区代码", "Region code", region),
    el("button", { type: "submit", id: "unit-show" }, bi("显示", "Show")));
  f.addEventListener("submit", (event) => { event.preventDefault(); act($("#unit-show"), () => load(region.value.trim())); });
  root.append(f, el("div", { id: "unit-list" }));
  await load(region.value);
}

async function load(regionCode) {
  const page = await api("/api/admin/units", { query: { region_code: regionCode } });
  $("#unit-list").replaceChildren(page.items.length
    ? table([["编号", "Id"], ["名称", "Name"], ["改名人", "Renamed by"], ["操作", "Actions"]], page.items.map(row))
    : el("p", { class: "empty" }, bi("该地区没有单位", "No units in this region")));
}

function row(unit) {
  const name = el("input", { value: unit.name, maxlength: 128, class: "wide-text", "aria-label": `${biText("名称", "Name")} ${unit.id}` });
  const save = el("button", { type: "button", "aria-label": `${biText("保存", "Save")} ${unit.id}` }, bi("保存", "Save"));
  const by = el("td", {}, unit.renamed_by || "");
  save.addEventListener("click", () => act(save, async () => {
    const saved = await api(`/api/admin/units/${encodeURIComponent(unit.id)}`, { method: "PUT", body: { name: name.value } });
    name.value = saved.name;
    by.textContent = saved.renamed_by;
    showMessage(`${saved.id}: ${biText("已改名", "renamed")} ${saved.name}`);
  }));
  return el("tr", { dataset: { unit: unit.id } }, el("td", {}, unit.id), el("td", {}, name), by, el("td", {}, save));
}
