// The one login page: log in, then go where the user was going (if the role has that page) or home.

import { api, leave, login, ownSession, takeNotice } from "./api.js";
import { $ } from "./dom.js";

async function goOn() {
  const nav = await api("/api/pages");
  const next = new URLSearchParams(location.search).get("next") || "";
  const path = next.split("?")[0];
  const allowed = nav.items.some((item) => item.path === path) && next.startsWith("/") && !next.startsWith("//");
  if (!allowed && !nav.home) {
    $("#login-error").textContent = "您的角色还没有页面 Your role has no page yet";
    return;
  }
  leave(allowed ? next : nav.home);
}

$("#login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = $("#login-error");
  const button = $("#login-submit");
  error.textContent = "";
  const username = $("#username").value.trim();
  const password = $("#password").value;
  if (!username || !password) {
    error.textContent = "请输入用户名和密码 Enter your username and password";
    return;
  }
  button.disabled = true;
  try {
    await login(username, password);
    await goOn();
  } catch (err) {
    error.textContent = err.detail || String(err);
  } finally {
    button.disabled = false;
  }
});

function showNotice() {
  const notice = takeNotice();
  if (notice) $("#login-error").textContent = notice;
}

showNotice();
// Already logged in in this tab: go on. A session copied from another tab is dropped, and said so.
ownSession().then((session) => (session ? goOn() : showNotice())).catch(() => {});
