// Knowledge base (知识库) management: find articles (retired and out-of-date ones too), write or edit
// one (each save a new revision; an edit from an old revision is refused with the current one),
// retire or bring back, and read its revisions. The agent desk searches the same articles.

import { api } from "../shell/api.js";
import { $, el } from "../shell/dom.js";
import { CATEGORIES, bi, biText, dateTime, label } from "../shell/i18n.js";
import { act, showMessage } from "../shell/shell.js";
import { choices, field, table } from "./form.js";

let editing = null; // the article being edited (its revision goes back with the edit), null: a new one

export async function show(root) {
  const q = el("input", { type: "search", maxlength: 200 });
  const find = el("form", { id: "kb-find", class: "row" }, field("kb-q", "查找", "Find", q),
    el("button", { type: "submit", id: "kb-search" }, bi("查找", "Find")),
    el("button", { type: "button", id: "kb-new" }, bi("新建文章", "New article")));
  find.addEventListener("submit", (event) => { event.preventDefault(); act($("#kb-search"), () => search(q.value.trim())); });
  root.append(find, el("div", { class: "split" }, el("div", { id: "kb-list" }), el("div", { id: "kb-editor" })));
  $("#kb-new").addEventListener("click", () => edit(null));
  await search("");
  edit(null);
}

async function search(q) {
  const page = await api("/api/kb/articles", { query: { q, limit: 50, include_inactive: true } });
  $("#kb-list").replaceChildren(page.items.length ? table([["标题", "Title"], ["类别", "Category"], ["状态", "Status"], ["操作", "Actions"]],
    page.items.map((a) => {
      const open = el("button", { type: "button", "aria-label": `编辑 Edit ${a.title}` }, bi("编辑", "Edit"));
      open.addEventListener("click", () => act(open, async () => edit(await api(`/api/kb/articles/${a.id}`))));
      return el("tr", {}, el("td", {}, a.title), el("td", {}, label(CATEGORIES, a.category)),
        el("td", {}, a.retired ? el("span", { class: "light red" }, bi("已停用", "retired")) : bi("有效", "in use")), el("td", {}, open));
    })) : el("p", { class: "empty" }, bi("没有文章", "No articles")));
}

function edit(article) {
  editing = article;
  const a = article || { title: "", body: "", category: "consultation", region_codes: [], unit_ids: [], valid_from: null, valid_until: null };
  const f = el("form", { id: "kb-form", class: "panel", dataset: article ? { article: article.id } : {} },
    el("h3", {}, article ? bi(`编辑 #${article.id}（第 ${article.revision} 版）`, `Edit #${article.id} (revision ${article.revision})`) : bi("新建文章", "New article")),
    field("kb-title", "标题", "Title", el("input", { required: true, maxlength: 200, value: a.title, class: "wide-text" })),
    field("kb-body", "内容", "Body", el("textarea", { required: true, maxlength: 20000 }, a.body)),
    el("div", { class: "row" },
      field("kb-category", "类别", "Category", choices(Object.keys(CATEGORIES).map((c) => [c, label(CATEGORIES, c)]), a.category)),
      field("kb-regions", "适用地区（逗号分隔，空为全省）", "Regions (comma-separated; empty: province)", el("input", { value: a.region_codes.join(","), maxlength: 2000 })),
      field("kb-units", "维护单位", "Units keeping it", el("input", { value: a.unit_ids.join(","), maxlength: 2000 }))),
    el("div", { class: "row" },
      field("kb-from", "生效日期", "Valid from", el("input", { type: "date", value: a.valid_from || "" })),
      field("kb-until", "失效日期", "Valid until", el("input", { type: "date", value: a.valid_until || "" })),
      field("kb-note", "修改说明", "What this revision changes", el("input", { maxlength: 500 }))),
    el("div", { class: "tools" }, el("button", { type: "submit", class: "primary", id: "kb-save" }, bi("保存", "Save")),
      article ? retireButton(article) : null),
    el("div", { id: "kb-revisions" }));
  f.addEventListener("submit", (event) => { event.preventDefault(); act($("#kb-save"), save); });
  $("#kb-editor").replaceChildren(f);
  if (article) act(null, () => revisions(article.id));
}

function retireButton(article) {
  const button = el("button", { type: "button", id: "kb-retire" }, article.retired ? bi("恢复使用", "Bring back") : bi("停用", "Retire"));
  button.addEventListener("click", () => act(button, async () => {
    const view = await api(`/api/kb/articles/${article.id}/${article.retired ? "unretire" : "retire"}`,
      { method: "POST", body: { revision: article.revision, note: $("#kb-note").value.trim() || null } });
    showMessage(`#${view.id}: ${view.retired ? biText("已停用", "retired") : biText("已恢复", "back in use")}`);
    edit(view);
    await search($("#kb-q").value.trim());
  }));
  return button;
}

async function save() {
  const list = (id) => $(id).value.split(/[,，\s]+/).map((s) => s.trim()).filter(Boolean);
  const body = { title: $("#kb-title").value.trim(), body: $("#kb-body").value, category: $("#kb-category").value,
    region_codes: list("#kb-regions"), unit_ids: list("#kb-units"), valid_from: $("#kb-from").value || null,
    valid_until: $("#kb-until").value || null, note: $("#kb-note").value.trim() || null };
  const view = editing
    ? await api(`/api/kb/articles/${editing.id}`, { method: "PUT", body: { ...body, revision: editing.revision } })
    : await api("/api/kb/articles", { method: "POST", body });
  showMessage(`#${view.id}: ${biText(`已保存（第 ${view.revision} 版）`, `saved (revision ${view.revision})`)}`);
  edit(view);
  await search($("#kb-q").value.trim());
}

async function revisions(id) {
  const page = await api(`/api/kb/articles/${id}/revisions`, { query: { limit: 20 } });
  $("#kb-revisions").replaceChildren(el("h4", {}, bi("修订记录", "Revisions")),
    table([["版本", "Revision"], ["时间", "When"], ["人", "Who"], ["操作", "Action"], ["改动", "Changed"]],
      page.items.map((r) => el("tr", {}, el("td", {}, String(r.revision)), el("td", {}, dateTime(r.at)), el("td", {}, r.actor),
        el("td", {}, r.action), el("td", {}, [r.changed.join(", "), r.note ? ` — ${r.note}` : ""].join(""))))));
}
