// The knowledge base (知识库): search the policy articles, read one, insert it into the direct answer.
// API: GET /api/kb/articles?q=&category=&region_code=&limit= and GET /api/kb/articles/{id}.
// The search is for the ticket form's place, when one is chosen: its own, its city's and the province's
// articles; the matched words are marked in each snippet by the server's offsets.

import { api } from "../shell/api.js";
import { $, el } from "../shell/dom.js";
import { CATEGORIES, biText, label } from "../shell/i18n.js";
import { act } from "../shell/shell.js";
import { emit } from "./state.js";
import { regionCode } from "./ticket_form.js";

export function startKb() {
  $("#kb-form").addEventListener("submit", (event) => {
    event.preventDefault();
    search();
  });
}

function validity(a) {
  const from = a.valid_from ? a.valid_from.slice(0, 10) : "…";
  const until = a.valid_until ? a.valid_until.slice(0, 10) : "…";
  return `${biText("有效期", "valid")} ${from} – ${until}`;
}

async function search() {
  const q = $("#kb-q").value.trim();
  const list = $("#kb-results");
  $("#kb-article").hidden = true;
  const region = regionCode();
  const query = region ? { q, region_code: region, limit: 20 } : { q, limit: 20 };
  const page = await act($("#kb-form button"), () => api("/api/kb/articles", { query }));
  if (!page) return;
  list.replaceChildren(...(page.items.length ? page.items.map((a) => el("li", { dataset: { article: a.id } },
    el("div", { class: "title" }, a.title),
    el("div", { class: "snippet" }, ...marked(a.snippet, a.highlights)),
    el("div", { class: "muted" }, `${label(CATEGORIES, a.category)} · ${validity(a)} · ${biText("引用", "used")} ${a.hits}`),
    el("button", { type: "button", onclick: (event) => open(event.currentTarget, a.id) }, biText("阅读", "Read")),
  )) : [el("li", { class: "empty" }, biText("没有找到相关知识", "no article found"))]));
}

// The snippet as text nodes, with each [start, end) of the matched words in a <mark>.
function marked(text, highlights) {
  const parts = [];
  let at = 0;
  for (const [start, end] of highlights || []) {
    if (start < at || end <= start) continue;
    parts.push(text.slice(at, start), el("mark", {}, text.slice(start, end)));
    at = end;
  }
  parts.push(text.slice(at));
  return parts;
}

async function open(button, id) {
  const article = await act(button, () => api(`/api/kb/articles/${id}`));
  if (!article) return;
  const box = $("#kb-article");
  box.hidden = false;
  box.replaceChildren(
    el("h3", {}, article.title),
    el("p", { class: "muted" }, `${label(CATEGORIES, article.category)} · ${validity(article)} · rev ${article.revision}`),
    el("div", { class: "body" }, article.body),
    el("button", { type: "button", class: "primary", id: "kb-insert",
      onclick: () => emit("answer", { text: article.body, article }) }, biText("插入答复", "Insert into the answer")),
  );
  box.querySelector("#kb-insert").focus();
}
