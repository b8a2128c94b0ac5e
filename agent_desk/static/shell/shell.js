// The page shell: header with the role's navigation, the user and log-out; the message area that
// shows the server's words; keyboard shortcuts. Every page starts with `await startPage()`.

import { api, ApiError, currentSession, leave, logout, toLogin } from "./api.js";
import { $, el } from "./dom.js";
import { bi, biText } from "./i18n.js";

const ROLES = {
  agent: ["坐席", "agent"],
  dispatcher: ["派单员", "dispatcher"],
  handler: ["承办人", "handler"],
  supervisor: ["班长", "supervisor"],
  admin: ["管理员", "admin"],
};

/**
 * Check the session, draw the header and navigation, and return { user, nav }. A page the role does
 * not see in the navigation still loads, with a notice: the server decides what it may do. A page
 * outside the navigation (a print view) names the navigation entry it belongs to: `{ under: "/reports" }`.
 */
export async function startPage({ under } = {}) {
  if (!currentSession()) {
    toLogin();
    return new Promise(() => {}); // the browser is leaving
  }
  let nav;
  let user;
  try {
    [nav, user] = await Promise.all([api("/api/pages"), api("/api/auth/me")]);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return new Promise(() => {});
    throw err;
  }
  drawHeader(nav, user);
  const path = under || location.pathname;
  if (!nav.items.some((item) => item.path === path)) {
    showMessage(`${biText("此页面不属于您的角色", "This page is not for your role")} (${user.role})`, "error");
  }
  return { user, nav };
}

function drawHeader(nav, user) {
  let header = $("#shell-header");
  if (!header) {
    header = el("header", { id: "shell-header" });
    document.body.prepend(header);
  }
  header.className = "shell-header";
  const role = ROLES[user.role] || [user.role, user.role];
  header.replaceChildren(
    el("h1", { class: "brand" }, "12345 热线 ", el("span", { class: "en" }, "Hotline")),
    el("nav", { class: "shell-nav", "aria-label": biText("页面导航", "Pages") },
      el("ul", {}, nav.items.map((item) => el("li", {},
        el("a", { href: item.path, "aria-current": item.path === location.pathname ? "page" : null,
                  onclick: (event) => follow(event, item.path) },
          item.title, " ", el("span", { class: "en" }, item.title_en)))))),
    el("div", { class: "shell-user" },
      el("span", { class: "who", id: "shell-user" }, `${user.username} · ${role[0]} ${role[1]}`),
      el("button", { type: "button", id: "logout", onclick: () => logout() }, bi("退出", "Log out"))),
  );
}

/** A plain click on a navigation link leaves through `leave`, so a refresh in flight lands first. */
function follow(event, path) {
  if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  leave(path);
}

function messages() {
  let box = $("#shell-messages");
  if (!box) {
    box = el("div", { id: "shell-messages", class: "shell-messages", role: "status", "aria-live": "polite" });
    document.body.append(box);
  }
  return box;
}

// Notices shown at once, at most: a burst (the sweep's 督办 of every case that turned red at 9:00)
// must not cover the page. Errors are never dropped.
const NOTICES_SHOWN = 3;

/** Show a message; errors stay until dismissed, information fades after a few seconds. */
export function showMessage(text, kind = "info") {
  const item = el("div", { class: "message " + kind, role: kind === "error" ? "alert" : null },
    el("span", { class: "text" }, text),
    el("button", { type: "button", "aria-label": biText("关闭", "Dismiss"), onclick: () => item.remove() }, "×"));
  if (kind !== "error") {
    const notices = [...messages().querySelectorAll(".message:not(.error)")];
    for (const old of notices.slice(0, Math.max(0, notices.length - NOTICES_SHOWN + 1))) old.remove();
  }
  messages().append(item);
  if (kind !== "error") setTimeout(() => item.remove(), 5000);
  return item;
}

/** A failed request, in the server's own words. */
export function showError(err) {
  const text = err instanceof ApiError ? `${err.status}: ${err.detail}` : String((err && err.message) || err);
  return showMessage(text, "error");
}

/**
 * Run an action from a control: the control is disabled while it runs, a refusal is shown.
 * Resolves to the action's result, or undefined when it failed.
 */
export async function act(control, action) {
  if (control) control.disabled = true;
  try {
    return await action();
  } catch (err) {
    showError(err);
    return undefined;
  } finally {
    if (control) control.disabled = false;
  }
}

/** Keyboard shortcuts: { "Alt+P": fn, … }; shown to users as <kbd> hints next to their controls. */
export function shortcuts(table) {
  document.addEventListener("keydown", (event) => {
    const key = (event.ctrlKey ? "Ctrl+" : "") + (event.altKey ? "Alt+" : "") +
      (event.key.length === 1 ? event.key.toUpperCase() : event.key);
    const handler = table[key];
    if (handler) {
      event.preventDefault();
      handler(event);
    }
  });
}
