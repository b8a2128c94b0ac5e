// The shell's words. Staff pages put Chinese first with English beside it: `bi("小休", "Pause")`.
// Domain labels (categories, lights, pause reasons) are defined here once for every page.

import { el } from "./dom.js";

/** Chinese first, English beside it, as one inline element. */
export function bi(zh, en) {
  return el("span", { class: "bi" }, zh, " ", el("span", { class: "en" }, en));
}

/** The same as plain text, for attributes (aria-label, title) and options. */
export function biText(zh, en) {
  return `${zh} ${en}`;
}

export const CATEGORIES = {
  consultation: ["咨询", "consultation"],
  help: ["求助", "help"],
  complaint: ["投诉", "complaint"],
  report: ["举报", "report"],
  suggestion: ["建议", "suggestion"],
  praise: ["表扬", "praise"],
};

export const CHANNELS = {
  phone: ["电话", "phone"],
  web: ["网站", "web"],
  wechat: ["微信", "WeChat"],
  weibo: ["微博", "Weibo"],
  app: ["APP", "app"],
  open311: ["Open311", "Open311"],
};

// A light is a word and a colour, never colour alone.
export const LIGHTS = {
  green: ["绿", "on time"],
  yellow: ["黄", "late"],
  red: ["红", "overdue"],
  none: ["办理中", "in time"],
};

export const AGENT_STATES = {
  available: ["空闲", "available"],
  ringing: ["振铃", "ringing"],
  on_call: ["通话中", "on call"],
  paused: ["小休", "paused"],
  wrapup: ["话后处理", "wrap-up"],
  unavailable: ["不可用", "unavailable"],
  logged_out: ["未签入", "not in a queue"],
};

export const PAUSE_REASONS = {
  "lunch-break": ["用餐", "lunch break"],
  training: ["培训", "training"],
  meeting: ["会议", "meeting"],
  "after-call-work": ["话后整理", "after-call work"],
  toilet: ["离席", "away"],
};

export const CALLBACK_RESULTS = {
  reached: ["已联系", "reached"],
  no_answer: ["无人接听", "no answer"],
  busy: ["占线", "busy"],
  wrong_number: ["空号错号", "wrong number"],
};

export function label(table, key) {
  const pair = table[key];
  return pair ? biText(pair[0], pair[1]) : key;
}

export function lightBadge(light) {
  const [zh, en] = LIGHTS[light] || LIGHTS.none;
  return el("span", { class: "light " + (LIGHTS[light] ? light : "none") }, `${zh} ${en}`);
}

export function time(iso) {
  return iso ? new Date(iso).toLocaleTimeString("zh-CN", { hour12: false }) : "–";
}

export function dateTime(iso) {
  return iso ? new Date(iso).toLocaleString("zh-CN", { hour12: false }) : "–";
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

// Ticket states and lifecycle actions (ticketing/actions.py), as the workbench pages name them.
export const STATES = {
  accepted: ["受理", "accepted"],
  dispatched: ["派单", "dispatched"],
  returned: ["退单", "returned"],
  ruling: ["审定", "ruling"],
  handling: ["办理", "handling"],
  extension_requested: ["延期申请", "extension requested"],
  replied: ["答复", "replied"],
  closed: ["办结", "closed"],
  archived: ["归档", "archived"],
};

export const ACTIONS = {
  accept: ["受理", "accept"],
  dispatch: ["派单", "dispatch"],
  close_direct: ["直接办结", "close directly"],
  sign: ["签收", "sign off"],
  return: ["退单", "return"],
  escalate: ["提请审定", "escalate to ruling"],
  rule: ["审定", "rule"],
  request_extension: ["申请延期", "request extension"],
  approve_extension: ["同意延期", "approve extension"],
  deny_extension: ["不同意延期", "deny extension"],
  reply: ["答复", "reply"],
  follow_up: ["回访", "follow-up"],
  archive: ["归档", "archive"],
  supervise: ["督办", "supervise"],
  note: ["备注", "note"],
};

export const RATINGS = {
  satisfied: ["满意", "satisfied"],
  basically_satisfied: ["基本满意", "basically satisfied"],
  unsatisfied: ["不满意", "unsatisfied"],
};

/** A deadline of the timeline or the inbox, as words: when it was met, or the working hours left or
 * overdue ("剩余 left 3.5 工作小时 working h"). */
export function countdown(deadline) {
  if (deadline.met_at) return `${biText("已完成", "met")} ${dateTime(deadline.met_at)}`;
  const hours = Math.abs(deadline.working_hours_left);
  const words = deadline.working_hours_left >= 0 ? biText("剩余", "left") : biText("超时", "overdue by");
  return `${words} ${hours} ${biText("工作小时", "working h")}`;
}
