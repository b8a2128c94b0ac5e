// The citizen portal: submit a request, track it with its number and phone, rate the reply, read the
// public board. Mandarin only, no account, nothing from the network but this server.

import { $, el } from "../shell/dom.js";

const VIEWS = ["submit", "track", "board"];
const TIME = new Intl.DateTimeFormat("zh-CN", {
  timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
});
const MAX_SIDE = 2048; // photos are shrunk in the browser before upload: phones take far larger ones
let options = null;
let boardCursor = null;

class PortalError extends Error {
  constructor(status, detail, retryAfter) {
    super(typeof detail === "string" ? detail : "请求失败");
    this.status = status;
    this.detail = detail;
    this.retryAfter = retryAfter;
  }
}

async function call(path, { method = "GET", body, query } = {}) {
  const url = new URL(path, location.origin);
  for (const [key, value] of Object.entries(query || {})) if (value) url.searchParams.set(key, value);
  const response = await fetch(url, {
    method, headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new PortalError(response.status, data?.detail, response.headers.get("Retry-After"));
  return data;
}

/** The server's refusal in words a citizen understands. */
function explain(error) {
  if (!(error instanceof PortalError)) return "网络异常，请稍后再试";
  if (error.status === 404) return "没有找到这件诉求：请核对编号和手机号码";
  if (error.status === 429) {
    const minutes = Math.max(1, Math.ceil(Number(error.retryAfter || 60) / 60));
    return `尝试次数太多，请 ${minutes} 分钟后再试`;
  }
  if (error.status === 422 && Array.isArray(error.detail)) {
    const names = { phone: "手机号码", description: "诉求内容", region_code: "所在地", category: "类别",
      service_request_id: "诉求编号", address: "详细地址", reason: "评价说明" };
    const fields = [...new Set(error.detail.map((d) => names[d.loc?.[d.loc.length - 1]] || "填写的内容"))];
    return `请检查：${fields.join("、")}`;
  }
  if (typeof error.detail === "string") return error.detail.replace(/\s*\([^)]*\)\s*$/, "");
  return "提交失败，请稍后再试";
}

function say(text, ok = false) {
  const box = $("#message");
  box.className = ok ? "ok" : "";
  box.textContent = text;
}

async function busy(button, fn) {
  button.disabled = true;
  say("");
  try {
    await fn();
  } catch (error) {
    say(explain(error));
  } finally {
    button.disabled = false;
  }
}

function when(iso) {
  return iso ? TIME.format(new Date(iso)) : "";
}

function show(view) {
  const name = VIEWS.includes(view) ? view : "submit";
  for (const other of VIEWS) {
    $(`#${other}`).hidden = other !== name;
    const tab = $(`#tab-${other}`);
    if (other === name) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  say("");
  if (name === "board" && !$("#board-list").childElementCount) loadBoard(true).catch((e) => say(explain(e)));
}

// ---- submit ----------------------------------------------------------------------------------

function fillPlaces(citySelect, countySelect) {
  citySelect.replaceChildren(el("option", { value: "" }, "请选择城市"),
    ...options.cities.map((c) => el("option", { value: c.code }, c.name)));
  const counties = () => {
    const city = options.cities.find((c) => c.code === citySelect.value);
    countySelect.replaceChildren(el("option", { value: "" }, city ? "全市 / 不确定" : "先选城市"),
      ...(city ? city.counties.map((c) => el("option", { value: c.code }, c.name)) : []));
  };
  citySelect.addEventListener("change", counties);
  counties();
}

function reportCannotBePublic() {
  const report = options.categories.find((c) => c.code === $("#category").value);
  const box = $("#public");
  box.disabled = report ? !report.may_be_public : false;
  if (box.disabled) box.checked = false;
}

async function shrink(file) {
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = el("canvas", { width: Math.round(bitmap.width * scale), height: Math.round(bitmap.height * scale) });
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  for (const quality of [0.85, 0.7, 0.5]) {
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
    if (blob && blob.size <= options.photo_max_bytes) return blob;
  }
  throw new PortalError(413, "照片太大，请换一张");
}

/** The photo as base64 for the request body: sent as is when small, else shrunk to a JPEG. */
async function photoData() {
  const file = $("#photo").files[0];
  if (!file) return null;
  if (!["image/jpeg", "image/png"].includes(file.type)) throw new PortalError(415, "只接受 JPEG 或 PNG 照片");
  const blob = file.size <= options.photo_max_bytes ? file : await shrink(file);
  const url = await new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
  return String(url).slice(String(url).indexOf(",") + 1);
}

function previewPhoto() {
  const file = $("#photo").files[0];
  const preview = $("#photo-preview");
  $("#photo-note").textContent = file ? `已选：${file.name}` : "";
  preview.hidden = !file;
  if (!file) return;
  const reader = new FileReader();
  reader.onload = () => { preview.src = reader.result; };
  reader.readAsDataURL(file);
}

async function submitRequest(event) {
  event.preventDefault();
  await busy($("#submit-button"), async () => {
    const region = $("#county").value || $("#city").value;
    if (!$("#category").value || !region) throw new PortalError(400, "请选择类别和所在城市");
    if (!$("#description").value.trim()) throw new PortalError(400, "请写下您的诉求");
    if (!$("#phone").value.trim()) throw new PortalError(400, "请填写手机号码");
    const made = await call("/api/citizen/requests", { method: "POST", body: {
      category: $("#category").value, region_code: region, address: $("#address").value.trim(),
      description: $("#description").value.trim(), phone: $("#phone").value.trim(),
      public: $("#public").checked, photo: await photoData(),
    } });
    $("#submitted-number").textContent = made.service_request_id;
    $("#submitted-detail").textContent = made.unit
      ? `已派至${made.unit}，${made.sign_due_at ? `应在 ${when(made.sign_due_at)} 前签收` : "等待签收"}`
      : "12345 已受理";
    $("#track-number").value = made.service_request_id;
    $("#track-phone").value = $("#phone").value.trim();
    $("#submit-form").hidden = true;
    $("#submitted").hidden = false;
    $("#submitted").focus();
  });
}

function submitAnother() {
  $("#submit-form").reset();
  previewPhoto();
  $("#county").replaceChildren(el("option", { value: "" }, "先选城市"));
  $("#submit-form").hidden = false;
  $("#submitted").hidden = true;
  $("#category").focus();
}

// ---- track and rate --------------------------------------------------------------------------

function ratingForm(request) {
  const choices = options.ratings.map((r, i) => el("label", {},
    el("input", { type: "radio", name: "rating", value: r.code, required: true, checked: i === 0 }), r.label));
  const form = el("form", { id: "rate-form", novalidate: true },
    el("fieldset", {}, el("legend", {}, "对办理结果是否满意？"), el("div", { class: "choices" }, choices)),
    el("label", { for: "rate-reason" }, "想说的话（选填）"),
    el("textarea", { id: "rate-reason", rows: 2, maxlength: 1000 }),
    el("button", { id: "rate-button", class: "primary", type: "submit" }, "提交评价"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    await busy($("#rate-button"), async () => {
      const reason = $("#rate-reason").value.trim();
      const rated = await call("/api/citizen/requests/rate", { method: "POST", body: {
        service_request_id: request.service_request_id, phone: $("#track-phone").value.trim(),
        rating: form.querySelector("input[name=rating]:checked").value, reason: reason || null,
      } });
      drawRequest(rated);
      say("感谢您的评价", true);
    });
  });
  return form;
}

function drawRequest(request) {
  const facts = [["类别", request.service_name.split(" ")[0]], ["所在地", request.place],
    ["提交时间", when(request.requested_datetime)], ["承办单位", request.agency_responsible],
    ["签收期限", when(request.sign_due_at)], ["办结期限", when(request.due_at)],
    ["评价", options.ratings.find((r) => r.code === request.rating)?.label],
    ["照片", request.photos ? `${request.photos} 张` : null]].filter(([, value]) => value);
  const card = el("article", { class: "card", id: "tracked-card", tabindex: -1, "aria-labelledby": "tracked-number" },
    el("p", {}, el("span", { id: "tracked-number", class: "number" }, request.service_request_id), " ",
      el("span", { class: "state", id: "tracked-state" }, request.state_label)),
    el("dl", { class: "facts" }, facts.flatMap(([name, value]) => [el("dt", {}, name), el("dd", {}, value)])),
    el("h3", {}, "办理过程"),
    el("ol", { class: "timeline", id: "timeline" },
      request.timeline.map((step) => el("li", {}, el("time", { datetime: step.at }, when(step.at)), step.text))),
    request.answer ? [el("h3", {}, "答复"), el("p", { class: "reply", id: "reply" }, request.answer)] : null,
    el("h3", {}, "您反映的内容"), el("p", {}, request.description));
  $("#tracked").replaceChildren(card, request.can_rate ? ratingForm(request) : []);
  $("#tracked").hidden = false;
}

async function trackRequest(event) {
  event.preventDefault();
  await busy($("#track-button"), async () => {
    $("#tracked").hidden = true;
    const number = $("#track-number").value.trim();
    const phone = $("#track-phone").value.trim();
    if (!number || !phone) throw new PortalError(400, "请填写诉求编号和手机号码");
    drawRequest(await call("/api/citizen/requests/lookup", { method: "POST",
      body: { service_request_id: number, phone } }));
    $("#tracked-card").focus();
  });
}

// ---- public board ----------------------------------------------------------------------------

async function loadBoard(fresh) {
  if (fresh) {
    boardCursor = null;
    $("#board-list").replaceChildren();
  }
  const page = await call("/api/citizen/board", { query: {
    city_code: $("#board-city").value, category: $("#board-category").value, cursor: boardCursor } });
  boardCursor = page.next_cursor;
  $("#board-list").append(...page.items.map((item) => el("li", { class: "card" },
    el("h3", {}, `${item.category_label} · ${item.place || "江苏"}`),
    el("p", { class: "meta" }, `${item.service_request_id} · ${when(item.requested_datetime)} · ${item.state_label}`
      + (item.agency_responsible ? ` · ${item.agency_responsible}` : "")),
    el("p", {}, item.description),
    item.reply ? el("p", { class: "reply" }, `答复：${item.reply}`) : null)));
  if (!$("#board-list").childElementCount) $("#board-list").append(el("li", { class: "note" }, "暂无公开诉求"));
  $("#board-more").hidden = !boardCursor;
}

// ---- start -----------------------------------------------------------------------------------

async function main() {
  options = await call("/api/citizen/options");
  $("#category").replaceChildren(el("option", { value: "" }, "请选择"),
    ...options.categories.map((c) => el("option", { value: c.code }, c.label)));
  fillPlaces($("#city"), $("#county"));
  $("#board-city").replaceChildren(el("option", { value: "" }, "全部城市"),
    ...options.cities.map((c) => el("option", { value: c.code }, c.name)));
  $("#board-category").replaceChildren(el("option", { value: "" }, "全部类别"),
    ...options.categories.filter((c) => c.may_be_public).map((c) => el("option", { value: c.code }, c.label)));
  $("#category").addEventListener("change", reportCannotBePublic);
  $("#photo").addEventListener("change", previewPhoto);
  $("#submit-form").addEventListener("submit", submitRequest);
  $("#submit-another").addEventListener("click", submitAnother);
  $("#track-this").addEventListener("click", () => { location.hash = "#track"; });
  $("#track-form").addEventListener("submit", trackRequest);
  for (const id of ["#board-city", "#board-category"]) {
    $(id).addEventListener("change", () => loadBoard(true).catch((e) => say(explain(e))));
  }
  $("#board-more").addEventListener("click", () => busy($("#board-more"), () => loadBoard(false)));
  addEventListener("hashchange", () => show(location.hash.slice(1)));
  show(location.hash.slice(1));
  document.body.dataset.ready = "true"; // the test harness waits for this
}

main().catch((error) => say(explain(error)));
