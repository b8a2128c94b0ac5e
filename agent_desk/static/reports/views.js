// The report views, each drawn from its API answers into a container: charts with their tables.
// Used by the report page (/reports) and the printable monthly report (/reports/monthly).

import { CATEGORIES, CHANNELS, LIGHTS, bi, label } from "../shell/i18n.js";
import { el } from "../shell/dom.js";
import { showError } from "../shell/shell.js";
import { allRows, block, chart, col, fmt, rateAxis, series, table } from "./blocks.js";

const CALL_COLUMNS = [
  col("offered", "呼入", "offered"), col("answered", "接通", "answered"),
  col("answer_rate", "接通率", "answer rate", fmt.rate),
  col("answered_within_15s", "15秒内接通", "within 15 s"),
  col("answered_within_15s_rate", "人工应答及时率", "15 s rate", fmt.rate),
  col("service_level", "服务水平", "service level", fmt.rate),
  col("asa_seconds", "平均应答时长", "ASA", fmt.seconds), col("aht_seconds", "平均处理时长", "AHT", fmt.seconds),
  col("abandoned", "放弃", "abandoned"), col("short_abandoned", "短时放弃", "short abandons"),
];
const BREAKDOWN_NAMES = { city: ["市", "City"], county: ["县区", "County"], unit: ["承办单位", "Unit"],
  channel: ["渠道", "Channel"], category: ["类别", "Category"] };

function nameOf(by, row) {
  if (row.key === null) return by ? "未指定 none" : "合计 total"; // e.g. a city-level ticket has no county
  if (by === "channel") return label(CHANNELS, row.key);
  if (by === "category") return label(CATEGORIES, row.key);
  return row.label || row.key;
}

function exporter(ctx, path, query, name) {
  if (!ctx.download) return null; // the printed report has no buttons
  return (format) => () => ctx.download(path, { ...query, format }, `${name}.${format}`).catch(showError);
}

/** Calls per day and per hour of the day. */
export async function calls(root, ctx) {
  for (const [by, zh, en, headZh, headEn] of [["day", "话务（按日）", "Calls by day", "日期", "day"],
    ["hour_of_day", "话务（按小时）", "Calls by hour of the day", "时段", "hour"]]) {
    const query = { ...ctx.query, by };
    const rows = await allRows("/api/reports/calls", query);
    const part = block(`calls-${by}`, zh, en, { exports: exporter(ctx, "/api/reports/calls", query, `calls-by-${by}`) });
    root.append(part);
    chart(part, `${zh} ${en}`, {
      xAxis: { type: "category", data: rows.map((r) => r.key) },
      yAxis: [{ type: "value", name: "通话 calls" }, { ...rateAxis, name: "比率 rate" }],
      series: [series("呼入 offered", rows, "offered"), series("接通 answered", rows, "answered"),
        series("放弃 abandoned", rows, "abandoned"),
        series("接通率 answer rate", rows, "answer_rate", "line", { yAxisIndex: 1 }),
        series("服务水平 service level", rows, "service_level", "line", { yAxisIndex: 1 })],
    }, ctx.chartOptions);
    part.append(table([col("key", headZh, headEn, fmt.text), ...CALL_COLUMNS], rows));
  }
}

/** Staffing: calls per hour against agents logged in, and the Erlang C advice. */
export async function staffing(root, ctx) {
  const rows = await allRows("/api/reports/staffing", ctx.query);
  const part = block("staffing", "排班（按小时）", "Staffing by hour of the day",
    { exports: exporter(ctx, "/api/reports/staffing", ctx.query, "staffing") });
  root.append(part);
  part.append(el("p", { class: "muted" }, bi(
    `Erlang C：${ctx.context.service_level_seconds} 秒内接通 ${Math.round(ctx.context.service_level_target * 100)}% 所需坐席`,
    `agents needed to answer ${Math.round(ctx.context.service_level_target * 100)}% within ${ctx.context.service_level_seconds} s`)));
  chart(part, "排班 Staffing", {
    xAxis: { type: "category", data: rows.map((r) => r.hour) },
    yAxis: [{ type: "value", name: "每小时来电 calls/h" }, { type: "value", name: "坐席 agents" }],
    series: [series("每小时来电 calls per hour", rows, "calls_per_hour"),
      series("在线坐席 agents logged in", rows, "agents_logged_in", "line", { yAxisIndex: 1 }),
      series("建议坐席 agents needed", rows, "agents_needed", "line", { yAxisIndex: 1, lineStyle: { type: "dashed" } })],
  }, ctx.chartOptions);
  part.append(table([col("hour", "时段", "hour", fmt.text), col("calls_per_hour", "每小时来电", "calls/h", fmt.number),
    col("offered", "呼入合计", "offered"), col("aht_seconds", "平均处理时长", "AHT", fmt.seconds),
    col("service_level", "服务水平", "service level", fmt.rate),
    col("agents_logged_in", "在线坐席", "logged in", fmt.number), col("agents_needed", "建议坐席", "needed"),
    col("predicted_service_level", "预计服务水平", "predicted SL", fmt.rate)], rows));
}

const TICKET_RATES = [
  col("total", "受理", "tickets"), col("signed", "签收", "signed"), col("signed_on_time", "按时签收", "on time"),
  col("on_time_sign_off_rate", "签收及时率", "on-time sign-off", fmt.rate), col("closed", "办结", "closed"),
  col("green", "按时办结", "closed on time"), col("on_time_completion_rate", "按时办结率", "on-time completion", fmt.rate),
  col("extended", "延期", "extended"), col("returned", "退单", "returned"), col("redone", "重办", "redone"),
];

/** Tickets: intake by channel, the next level down with its on-time rates, lights, overdue cases. */
export async function tickets(root, ctx, { drill } = {}) {
  const channelQuery = { ...ctx.query, by: "channel" };
  const channels = await allRows("/api/reports/tickets", channelQuery);
  let part = block("tickets-channel", "受理渠道", "Intake by channel",
    { exports: exporter(ctx, "/api/reports/tickets", channelQuery, "tickets-by-channel") });
  root.append(part);
  chart(part, "受理渠道 Intake by channel", {
    xAxis: { type: "category", data: channels.map((r) => nameOf("channel", r)) },
    yAxis: { type: "value" }, series: [series("受理 tickets", channels, "total")],
  }, ctx.chartOptions);
  part.append(table([col("key", "渠道", "channel", fmt.text), col("total", "受理", "tickets")], channels,
    { rowHead: (r) => nameOf("channel", r) }));

  const by = ctx.context.breakdown;
  if (by) {
    const query = { ...ctx.query, by };
    const rows = await allRows("/api/reports/tickets", query);
    const [zh, en] = BREAKDOWN_NAMES[by];
    part = block("tickets-breakdown", `按时签收与办结（按${zh}）`, `On-time sign-off and completion by ${en.toLowerCase()}`,
      { exports: exporter(ctx, "/api/reports/tickets", query, `tickets-by-${by}`) });
    root.append(part);
    chart(part, `按时签收与办结 by ${en}`, {
      xAxis: { type: "category", data: rows.map((r) => nameOf(by, r)), axisLabel: { interval: 0, rotate: rows.length > 8 ? 30 : 0 } },
      yAxis: [rateAxis, { type: "value", name: "件 tickets" }],
      series: [series("签收及时率 on-time sign-off", rows, "on_time_sign_off_rate"),
        series("按时办结率 on-time completion", rows, "on_time_completion_rate"),
        series("延期 extended", rows, "extended", "bar", { yAxisIndex: 1 }),
        series("退单 returned", rows, "returned", "bar", { yAxisIndex: 1 })],
    }, ctx.chartOptions);
    part.append(table([col("key", zh, en, fmt.text), ...TICKET_RATES], rows, {
      rowHead: (r) => nameOf(by, r),
      extra: drill && ((r) => (r.key === null ? "" : el("button", { type: "button", class: "drill",
        onclick: () => drill(by, r.key), "aria-label": `下钻 Drill down: ${nameOf(by, r)}` }, "下钻 ›"))),
    }));
  }

  const [overall] = await allRows("/api/reports/tickets", ctx.query);
  part = block("tickets-lights", "红黄绿灯分布", "Light distribution",
    { exports: exporter(ctx, "/api/reports/tickets", ctx.query, "tickets") });
  root.append(part);
  const lights = [["green", "green"], ["yellow", "yellow"], ["red", "red"], ["open_in_time", "none"]];
  const colours = { green: "#1e7a3c", yellow: "#c99a00", red: "#b42318", none: "#8a93a6" };
  chart(part, "红黄绿灯 Lights", {
    tooltip: { trigger: "item", renderMode: "richText" },
    xAxis: { type: "category", data: lights.map(([, light]) => label(LIGHTS, light)) },
    yAxis: { type: "value" },
    series: [{ name: "件 tickets", type: "bar", label: { show: true, position: "top" },
      data: lights.map(([key, light]) => ({ value: overall[key], itemStyle: { color: colours[light] } }))}],
  }, ctx.chartOptions);
  part.append(table([col("total", "受理", "tickets"), col("green", "绿灯 按时办结", "green: on time"),
    col("yellow", "黄灯 超时办结", "yellow: late"), col("red", "红灯 超期未办结", "red: overdue"),
    col("open_in_time", "办理中", "open in time"), col("closed", "办结", "closed"),
    col("on_time_completion_rate", "按时办结率", "on-time completion", fmt.rate)], [overall]));

  const overdue = await allRows("/api/reports/overdue", ctx.query);
  part = block("tickets-overdue", "超期工单", "Overdue cases",
    { exports: exporter(ctx, "/api/reports/overdue", ctx.query, "overdue") });
  root.append(part);
  part.append(table([col("number", "工单号", "number", fmt.text), col("category", "类别", "category", (v) => label(CATEGORIES, v)),
    col("lead_unit", "承办单位", "unit", fmt.text), col("state", "状态", "state", fmt.text),
    col("overdue_since", "超期自", "overdue since", fmt.time), col("created_at", "受理时间", "created", fmt.time)], overdue));
}

const SATISFACTION = [col("rated", "回访", "rated"), col("satisfied", "满意", "satisfied"),
  col("satisfaction_rate", "满意率", "satisfaction", fmt.rate), col("redone", "重办", "redone"),
  col("redo_rate", "重办率", "redo rate", fmt.rate)];

/** Satisfaction and the redo rate by unit and by category. */
export async function satisfaction(root, ctx) {
  for (const [by, zh, en] of [["unit", "满意率（按承办单位）", "Satisfaction by unit"],
    ["category", "满意率（按类别）", "Satisfaction by category"]]) {
    const query = { ...ctx.query, by };
    const rows = await allRows("/api/reports/tickets", query);
    const part = block(`satisfaction-${by}`, zh, en,
      { exports: exporter(ctx, "/api/reports/tickets", query, `satisfaction-by-${by}`) });
    root.append(part);
    chart(part, `${zh} ${en}`, {
      xAxis: { type: "category", data: rows.map((r) => nameOf(by, r)), axisLabel: { interval: 0, rotate: rows.length > 8 ? 30 : 0 } },
      yAxis: rateAxis,
      series: [series("满意率 satisfaction", rows, "satisfaction_rate"), series("重办率 redo rate", rows, "redo_rate")],
    }, ctx.chartOptions);
    const [headZh, headEn] = BREAKDOWN_NAMES[by];
    part.append(table([col("key", headZh, headEn, fmt.text), ...SATISFACTION], rows, { rowHead: (r) => nameOf(by, r) }));
  }
}

const TOP_PAIRS = 12;

/** Hot spots: the busiest category × county pairs over time. */
export async function hotspots(root, ctx) {
  const query = { ...ctx.query, top: TOP_PAIRS };
  const cells = await allRows("/api/reports/hotspots", query);
  const part = block("hotspots", "热点（类别 × 县区）", "Hot spots: category × county over time",
    { exports: exporter(ctx, "/api/reports/hotspots", query, "hotspots") });
  root.append(part);
  const pairs = [...new Set(cells.map((c) => `${c.category}|${c.county_code}`))]; // the API's order: busiest first
  const buckets = [...new Set(cells.map((c) => c.bucket))].sort();
  const names = new Map(cells.map((c) => [`${c.category}|${c.county_code}`,
    `${(CATEGORIES[c.category] || [c.category])[0]} · ${c.county || c.county_code}`]));
  const value = new Map(cells.map((c) => [`${c.category}|${c.county_code}|${c.bucket}`, c.tickets]));
  const data = [];
  pairs.forEach((pair, y) => buckets.forEach((bucket, x) => {
    const n = value.get(`${pair}|${bucket}`);
    if (n) data.push([x, y, n]);
  }));
  chart(part, "热点 Hot spots", {
    tooltip: { trigger: "item", renderMode: "richText" },
    grid: { left: 50, right: 30, top: 20, bottom: 60, containLabel: true },
    xAxis: { type: "category", data: buckets },
    yAxis: { type: "category", data: pairs.map((p) => names.get(p)), inverse: true },
    visualMap: { min: 0, max: Math.max(1, ...data.map((d) => d[2])), calculable: false, orient: "horizontal",
      left: "center", bottom: 0, inRange: { color: ["#eef3fb", "#f0a400", "#b42318"] } },
    series: [{ name: "工单 tickets", type: "heatmap", data, label: { show: buckets.length <= 14 } }],
  }, ctx.chartOptions);
  part.append(el("p", { class: "muted" }, bi(`工单最多的 ${TOP_PAIRS} 组`, `the ${TOP_PAIRS} busiest pairs`)));
  const rows = pairs.map((pair) => el("tr", {}, el("th", { scope: "row" }, names.get(pair)),
    buckets.map((bucket) => {
      const n = value.get(`${pair}|${bucket}`) || 0;
      return el("td", { "data-field": bucket, "data-value": String(n) }, String(n));
    })));
  part.append(el("div", { class: "wide" }, el("table", { class: "report-table pivot" },
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, bi("类别 · 县区", "category · county")),
      buckets.map((b) => el("th", { scope: "col" }, b)))),
    el("tbody", {}, rows.length ? rows : [el("tr", {}, el("td", { class: "empty" }, bi("此期间没有数据", "No data in this period")))]))));
}
