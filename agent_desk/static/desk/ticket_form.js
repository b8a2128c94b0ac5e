// The ticket form, filled from the screen pop's draft: place picker (province → city → county,
// searchable by name), live routing preview before saving, create (attaching the call), and the
// direct answer that closes a consultation on the spot.

import { api } from "../shell/api.js";
import { $, $$, el } from "../shell/dom.js";
import { CATEGORIES, biText, label } from "../shell/i18n.js";
import { act, showMessage } from "../shell/shell.js";
import { currentCallId } from "./pop.js";
import { desk, on } from "./state.js";

const form = () => $("#ticket-form");
let formCall = null; // the linkedid the form was filled for
let draftId = null;
let articleId = null;
let previewTimer = null;
let previewSeq = 0;
let searchTimer = null;

export async function startTicketForm({ openTicket }) {
  $("#t-category").replaceChildren(...Object.keys(CATEGORIES).map((c) => el("option", { value: c }, label(CATEGORIES, c))));
  const departments = await api("/api/routing/departments");
  $("#t-department").replaceChildren(el("option", { value: "" }, biText("按内容推荐", "suggest from the description")),
    ...departments.items.map((d) => el("option", { value: d.dept_type }, `${d.name} (${d.dept_type})`)));
  await loadPlaces();

  for (const field of $$("input, select, textarea", form())) {
    field.addEventListener("input", () => field.classList.add("edited"));
  }
  for (const id of ["#t-category", "#t-description", "#t-department", "#t-city", "#t-county"]) {
    $(id).addEventListener(id === "#t-description" ? "input" : "change", schedulePreview);
  }
  $("#t-city").addEventListener("change", async () => {
    await loadCounties($("#t-city").value);
    regionChanged();
  });
  $("#t-county").addEventListener("change", regionChanged);
  $("#t-place-search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(searchPlaces, 200);
  });
  $("#t-place-search").addEventListener("keydown", placeKeys);
  form().addEventListener("submit", (event) => {
    event.preventDefault();
    create(openTicket);
  });
  $("#clear-button").addEventListener("click", () => reset(null));
  $("#close-direct-button").addEventListener("click", () => closeDirect(openTicket));
  on("pop", fillFromPop);
  on("answer", ({ text, article }) => {
    const answer = $("#t-answer");
    answer.value = answer.value ? `${answer.value}\n${text}` : text;
    answer.classList.add("edited");
    articleId = article ? article.id : articleId;
    const badge = $("#t-article");
    badge.hidden = !article;
    if (article) badge.textContent = `${biText("引用知识", "from article")} #${article.id} ${article.title}`;
    answer.focus();
  });
  reset(null);
}

// ---- places -------------------------------------------------------------------------------

async function loadPlaces() {
  const cities = (await api("/api/regions")).items;
  const province = cities.length ? { code: cities[0].parent_code, name: cities[0].path.split(" › ")[0] } : null;
  $("#t-province").replaceChildren(...(province ? [el("option", { value: province.code }, province.name)] : []));
  $("#t-city").replaceChildren(el("option", { value: "" }, biText("— 全省 —", "whole province")),
    ...cities.map((c) => el("option", { value: c.code }, c.name)));
  await loadCounties("");
}

async function loadCounties(city) {
  const counties = city ? (await api("/api/regions", { query: { parent: city } })).items : [];
  $("#t-county").replaceChildren(el("option", { value: "" }, biText("— 全市 —", "whole city")),
    ...counties.map((c) => el("option", { value: c.code }, c.name)));
}

export function regionCode() {
  return $("#t-county").value || $("#t-city").value || null;
}

function regionChanged() {
  const city = $("#t-city");
  const county = $("#t-county");
  const parts = [$("#t-province").selectedOptions[0], city.value && city.selectedOptions[0],
    county.value && county.selectedOptions[0]].filter(Boolean).map((o) => o.textContent);
  $("#t-region-path").textContent = `${parts.join(" › ")}${regionCode() ? ` (${regionCode()})` : ""}`;
  schedulePreview();
}

async function setRegion(code) {
  // GB/T 2260: a county's first four digits are its prefecture's.
  const cityCode = code ? `${code.slice(0, 4)}00` : "";
  $("#t-city").value = cityCode;
  await loadCounties(cityCode);
  $("#t-county").value = code && code !== cityCode ? code : "";
  regionChanged();
}

async function searchPlaces() {
  const input = $("#t-place-search");
  const list = $("#t-place-results");
  const q = input.value.trim();
  if (!q) {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    return;
  }
  const found = (await api("/api/regions", { query: { q, limit: 20 } })).items;
  list.replaceChildren(...(found.length ? found.map((r, i) => el("li", {
    role: "option", id: `place-${r.code}`, "aria-selected": String(i === 0), dataset: { code: r.code },
    onclick: () => choosePlace(r.code),
  }, r.path)) : [el("li", { class: "empty", role: "option", "aria-disabled": "true" }, biText("无匹配地点", "no such place"))]));
  list.hidden = false;
  input.setAttribute("aria-expanded", "true");
}

function placeKeys(event) {
  const list = $("#t-place-results");
  const options = $$("li[data-code]", list);
  if (list.hidden || !options.length) return;
  let index = options.findIndex((o) => o.getAttribute("aria-selected") === "true");
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    event.preventDefault();
    index = (index + (event.key === "ArrowDown" ? 1 : options.length - 1)) % options.length;
    options.forEach((o, i) => o.setAttribute("aria-selected", String(i === index)));
    $("#t-place-search").setAttribute("aria-activedescendant", options[index].id);
  } else if (event.key === "Enter") {
    event.preventDefault();
    choosePlace(options[Math.max(0, index)].dataset.code);
  } else if (event.key === "Escape") {
    list.hidden = true;
  }
}

async function choosePlace(code) {
  $("#t-place-results").hidden = true;
  $("#t-place-search").setAttribute("aria-expanded", "false");
  $("#t-place-search").value = "";
  $("#t-city").classList.add("edited");
  await setRegion(code);
}

// ---- filling from the screen pop ----------------------------------------------------------

function setField(selector, value, { force = false } = {}) {
  const field = $(selector);
  if (!force && field.classList.contains("edited")) return;
  field.value = value ?? "";
}

async function fillFromPop(pop) {
  if (pop.kind === "completed") return;
  const newCall = pop.linkedid !== formCall;
  if (newCall) reset(pop);
  const draft = pop.draft;
  if (!draft) return;
  draftId = draft.id;
  if (draft.category && CATEGORIES[draft.category]) setField("#t-category", draft.category);
  setField("#t-description", draft.summary || draft.transcript || "");
  setField("#t-address", draft.address || "");
  if (draft.department_type) setField("#t-department", draft.department_type);
  const numbers = ((draft.extraction && draft.extraction.numbers) || []).map((n) => n.digits).filter(Boolean);
  setField("#t-digits", numbers.join(" "));
  $("#t-department-reason").textContent = draft.department_reason
    ? `${biText("推荐理由", "why")}: ${draft.department_reason}` : "";
  const categoryWhy = categoryReason(draft.extraction && draft.extraction.category);
  $("#t-category-reason").textContent = categoryWhy ? `${biText("类别依据", "why this category")}: ${categoryWhy}` : "";
  if (draft.region_code && !$("#t-city").classList.contains("edited")) await setRegion(draft.region_code);
  schedulePreview();
}

/** Why the draft's category: the phrases of intent it heard (停水+2, 快派人+4), or the model's
 * reason when it heard none (模型: 投诉 0.71 — 油烟, 楼下). */
function categoryReason(category) {
  if (!category) return "";
  if (category.reason) return category.reason;
  const heard = (category.evidence || []).map((e) => `${e.keyword}+${e.weight}`);
  return heard.length ? `${heard.join(", ")} → ${category.label}` : "";
}

function reset(pop) {
  form().reset();
  for (const field of $$(".edited", form())) field.classList.remove("edited");
  formCall = pop ? pop.linkedid : null;
  draftId = null;
  articleId = null;
  $("#t-article").hidden = true;
  $("#t-department-reason").textContent = "";
  $("#t-category-reason").textContent = "";
  $("#t-caller").value = (pop && pop.caller_number) || "";
  $("#t-name").value = (pop && pop.caller_name) || "";
  $("#ticket-call").textContent = pop ? `· ${biText("来电", "call")} ${pop.caller_number || pop.linkedid}` : "";
  $("#t-city").value = "";
  loadCounties("").then(regionChanged);
}

// ---- routing preview ----------------------------------------------------------------------

function schedulePreview() {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(preview, 250);
}

function previewBody() {
  const dept = $("#t-department").value;
  return { category: $("#t-category").value, region_code: regionCode(),
    description: $("#t-description").value, departments: dept ? [dept] : null };
}

async function preview() {
  const seq = ++previewSeq;
  const lead = $("#routing-lead");
  const reasons = $("#routing-reasons");
  try {
    const result = await api("/api/routing/preview", { method: "POST", body: previewBody() });
    if (seq !== previewSeq) return;
    lead.textContent = `→ ${result.lead.name} (${result.lead.id}) · ${result.level} · ${result.rule}`;
    lead.dataset.unit = result.lead.id;
    reasons.replaceChildren(...result.reasons.map((r) => el("li", {}, r)),
      ...result.co_handlers.map((u) => el("li", {}, `${biText("协办", "co-handler")}: ${u.name}`)));
    form().dataset.departments = JSON.stringify(result.departments.map((d) => d.dept_type));
  } catch (err) {
    if (seq !== previewSeq) return;
    lead.textContent = `${biText("无法预览", "no preview")}: ${err.detail || err.message}`;
    delete lead.dataset.unit;
    reasons.replaceChildren();
  }
}

// ---- saving -------------------------------------------------------------------------------

async function ticketBody(dispatch) {
  const description = $("#t-description").value.trim();
  const digits = $("#t-digits").value.trim();
  return {
    category: $("#t-category").value,
    description: digits && !description.includes(digits) ? `${description}（提到的号码 digits: ${digits}）` : description,
    caller_number: $("#t-caller").value.trim() || null,
    caller_name: $("#t-name").value.trim() || null,
    region_code: regionCode(),
    address: $("#t-address").value.trim(),
    call_id: formCall && desk.pop && desk.pop.linkedid === formCall ? await currentCallId() : null,
    draft_id: draftId,
    dispatch,
    departments: JSON.parse(form().dataset.departments || "[]"),
  };
}

async function createTicket(dispatch) {
  if (!$("#t-description").value.trim()) {
    showMessage(biText("请填写诉求内容", "Describe the request first"), "error");
    $("#t-description").focus();
    return null;
  }
  clearTimeout(previewTimer);
  await preview(); // create routes by exactly what the preview shows
  const body = await ticketBody(dispatch);
  const ticket = await api("/api/tickets", { method: "POST", body });
  return { ticket, attached: Boolean(body.call_id) };
}

async function create(openTicket) {
  const created = await act($("#create-button"), () => createTicket($("#t-dispatch").checked));
  if (!created) return;
  const { ticket } = created;
  const attached = created.attached ? biText("，通话已关联", ", call attached") : "";
  showMessage(`${biText("已受理", "Created")} ${ticket.number} · ${ticket.state_label}${attached}`);
  form().dataset.lastTicket = ticket.number;
  openTicket(ticket.id);
}

async function closeDirect(openTicket) {
  const answer = $("#t-answer").value.trim();
  if (!answer) {
    showMessage(biText("请填写答复内容", "Write the answer first"), "error");
    $("#t-answer").focus();
    return;
  }
  const closed = await act($("#close-direct-button"), async () => {
    const created = await createTicket(false);
    if (!created) return null;
    const { ticket } = created;
    const body = { answer, ...(articleId ? { article_id: articleId } : {}) };
    return api(`/api/tickets/${ticket.id}/actions/close_direct`, { method: "POST", body });
  });
  if (!closed) return;
  showMessage(`${biText("已直接办结", "Closed directly")} ${closed.number}`);
  form().dataset.lastTicket = closed.number;
  openTicket(closed.id);
}

export function focusCreate() {
  $("#create-button").click();
}
