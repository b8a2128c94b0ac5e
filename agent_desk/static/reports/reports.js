// Supervisor reports: any date range, drill-down from the province (or the supervisor's city) to a
// county and a unit, five views of charts with their tables, CSV and XLSX of every table. The state
// lives in the URL (?view=&start=&end=&region=&unit=), so a report can be bookmarked and shared.

import { api } from "../shell/api.js";
import { $, $$, el } from "../shell/dom.js";
import { showError, startPage } from "../shell/shell.js";
import { arrowKeys } from "../shell/tabs.js";
import { disposeCharts } from "./blocks.js";
import * as views from "./views.js";

const VIEWS = ["calls", "staffing", "tickets", "satisfaction", "hotspots"];

function state() {
  const params = new URLSearchParams(location.search);
  return { view: VIEWS.includes(params.get("view")) ? params.get("view") : "calls",
    start: params.get("start"), end: params.get("end"), region: params.get("region"), unit: params.get("unit") };
}

function go(changes) {
  const next = { ...state(), ...changes };
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(next)) if (value) params.set(key, value);
  history.pushState(null, "", `${location.pathname}?${params}`);
  return draw();
}

function monthRange(offset) {
  const today = new Date();
  const first = new Date(today.getFullYear(), today.getMonth() + offset, 1);
  const last = offset === 0 ? today : new Date(today.getFullYear(), today.getMonth() + offset + 1, 0);
  const day = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  return { start: day(first), end: day(last) };
}

async function download(path, query, filename) {
  const blob = await api(path, { query, blob: true });
  const link = el("a", { href: URL.createObjectURL(blob), download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

function drawTrail(context) {
  const trail = $("#trail");
  trail.replaceChildren(...context.trail.flatMap((place, i) => {
    const last = i === context.trail.length - 1;
    const target = i === 0 ? { region: null, unit: null }
      : place.level === "unit" ? { unit: place.code } : { region: place.code, unit: null };
    const item = last ? el("strong", { "aria-current": "location" }, place.name)
      : el("a", { href: "#", onclick: (e) => { e.preventDefault(); go(target).catch(showError); } }, place.name);
    return i ? [el("span", { class: "sep", "aria-hidden": "true" }, " › "), item] : [item];
  }));
  const city = [...context.trail].reverse().find((p) => p.level === "city" || p.level === "province");
  const month = context.start.slice(0, 7);
  $("#monthly").href = `/reports/monthly?month=${month}` + (city && city.level === "city" ? `&region=${city.code}` : "");
}

async function draw() {
  const s = state();
  document.body.dataset.ready = "false";
  const query = { start: s.start, end: s.end, region: s.region, unit: s.unit };
  const context = await api("/api/reports/context", { query });
  $("#start").value = context.start;
  $("#end").value = context.end;
  const fixed = { ...query, start: context.start, end: context.end };
  drawTrail(context);
  for (const tab of $$("[role=tab]")) tab.setAttribute("aria-selected", String(tab.dataset.view === s.view));
  const root = $("#view");
  disposeCharts(root);
  // the tab's name as the view's heading (h2; its blocks are h3), for screen readers
  root.replaceChildren(el("h2", { class: "visually-hidden" }, $(`#tab-${s.view}`).textContent));
  root.setAttribute("aria-labelledby", `tab-${s.view}`);
  const drill = (by, key) => go(by === "unit" ? { unit: key, region: null } : { region: key, unit: null });
  try {
    await views[s.view](root, { query: fixed, context, download }, { drill });
  } finally {
    document.body.dataset.ready = "true"; // the test harness waits for this
  }
}

async function main() {
  await startPage();
  $("#controls").addEventListener("submit", (event) => {
    event.preventDefault();
    go({ start: $("#start").value, end: $("#end").value }).catch(showError);
  });
  $("#this-month").addEventListener("click", () => go(monthRange(0)).catch(showError));
  $("#last-month").addEventListener("click", () => go(monthRange(-1)).catch(showError));
  for (const tab of $$("[role=tab]")) tab.addEventListener("click", () => go({ view: tab.dataset.view }).catch(showError));
  arrowKeys($(".tabs"));
  window.addEventListener("popstate", () => draw().catch(showError));
  await draw();
}

main().catch((err) => {
  showError(err);
  document.body.dataset.ready = "true";
});
