// The printable monthly report of a city (or the province): the report views for one month, laid
// out for A4 paper. The browser's print dialog prints it or saves it as a PDF.

import { api } from "../shell/api.js";
import { $, el } from "../shell/dom.js";
import { showError, startPage } from "../shell/shell.js";
import { allRows, fmt } from "./blocks.js";
import * as views from "./views.js";

function monthOf(params) {
  const wanted = params.get("month");
  if (wanted && /^\d{4}-\d{2}$/.test(wanted)) return wanted;
  const today = new Date();
  return `${today.getFullYear()}-${String(today.getMonth() + 1).padStart(2, "0")}`;
}

function lastDay(month) {
  const [year, m] = month.split("-").map(Number);
  return `${month}-${String(new Date(year, m, 0).getDate()).padStart(2, "0")}`;
}

function figure(zh, en, text) {
  return el("div", { class: "figure" }, el("dt", {}, zh, " ", el("span", { class: "en" }, en)), el("dd", {}, text));
}

async function summary(query) {
  const [calls] = await allRows("/api/reports/calls", query);
  const [tickets] = await allRows("/api/reports/tickets", query);
  return el("dl", { class: "figures" },
    figure("呼入", "calls offered", fmt.int(calls.offered)),
    figure("接通率", "answer rate", fmt.rate(calls.answer_rate)),
    figure("人工应答及时率", "answered within 15 s", fmt.rate(calls.answered_within_15s_rate)),
    figure("平均处理时长", "AHT", fmt.seconds(calls.aht_seconds)),
    figure("受理工单", "tickets", fmt.int(tickets.total)),
    figure("签收及时率", "on-time sign-off", fmt.rate(tickets.on_time_sign_off_rate)),
    figure("按时办结率", "on-time completion", fmt.rate(tickets.on_time_completion_rate)),
    figure("满意率", "satisfaction", fmt.rate(tickets.satisfaction_rate)),
    figure("重办率", "redo rate", fmt.rate(tickets.redo_rate)),
    figure("红灯", "overdue", fmt.int(tickets.red)));
}

async function main() {
  await startPage({ under: "/reports" });
  const params = new URLSearchParams(location.search);
  const month = monthOf(params);
  $("#month").value = month;
  $("#monthly-controls").addEventListener("submit", (event) => {
    event.preventDefault();
    params.set("month", $("#month").value);
    location.search = params.toString();
  });
  $("#print").addEventListener("click", () => window.print());
  const query = { start: `${month}-01`, end: lastDay(month), region: params.get("region") };
  const context = await api("/api/reports/context", { query });
  const place = context.trail[context.trail.length - 1].name;
  $("#report-title").textContent = `${place} 12345 热线 ${month.replace("-", " 年 ")} 月 月度报告`;
  $("#report-period").textContent = `${context.start} – ${context.end}`;
  document.title = `${$("#report-title").textContent} · Monthly report`;
  const ctx = { query: { ...query, start: context.start, end: context.end }, context,
    chartOptions: { print: true }, download: null };
  $("#summary").append(await summary(ctx.query));
  await views.calls($("#part-calls"), ctx);
  await views.staffing($("#part-staffing"), ctx);
  await views.tickets($("#part-tickets"), ctx);
  await views.satisfaction($("#part-satisfaction"), ctx);
  await views.hotspots($("#part-hotspots"), ctx);
  document.body.dataset.ready = "true";
}

main().catch((err) => {
  showError(err);
  document.body.dataset.ready = "true";
});
