// Users: create, edit role and scope, disable and enable, reset the password. The server applies
// the same checks as `hotline users` (one account service) and ends the sessions a change affects.

import { api } from "../shell/api.js";
import { $, el } from "../shell/dom.js";
import { bi, biText } from "../shell/i18n.js";
import { act, showMessage } from "../shell/shell.js";
import { choices, field, table } from "./form.js";

const ROLES = [
  ["agent", "坐席 agent"], ["dispatcher", "派单员 dispatcher"], ["handler", "承办人 handler"],
  ["supervisor", "班长 supervisor"], ["admin", "管理员 admin"],
];

export async function show(root) {
  const list = el("div", { id: "user-list" });
  const secret = el("div", { id: "user-secret", "aria-live": "polite" });
  root.append(el("div", { class: "split" }, el("div", { class: "list" }, list), el("div", {}, form(), secret)));
  await loadUsers(list);
}

async function loadUsers(list, cursor = null, rows = []) {
  const page = await api("/api/admin/users", { query: { limit: 100, cursor } });
  const all = rows.concat(page.items);
  const more = el("button", { type: "button", id: "users-more" }, bi("更多", "More"));
  more.addEventListener("click", () => act(more, () => loadUsers(list, page.next_cursor, all)));
  list.replaceChildren(table([["用户名", "Username"], ["角色", "Role"], ["范围", "Scope"], ["状态", "Status"], ["操作", "Actions"]],
    all.map((user) => userRow(user, list))), ...(page.next_cursor ? [more] : []));
}

function userRow(user, list) {
  const scope = user.unit_id || user.region_code || user.agent_interface || "";
  const toggle = el("button", { type: "button", class: "toggle-active", "aria-label": `${user.active ? "停用 Disable" : "启用 Enable"} ${user.username}` },
    user.active ? bi("停用", "Disable") : bi("启用", "Enable"));
  toggle.addEventListener("click", () => act(toggle, async () => {
    await api(`/api/admin/users/${encodeURIComponent(user.username)}/active`, { method: "PUT", body: { active: !user.active } });
    showMessage(`${user.username}: ${user.active ? biText("已停用，会话已结束", "disabled, sessions ended") : biText("已启用", "enabled")}`);
    await loadUsers(list);
  }));
  const reset = el("button", { type: "button", "aria-label": `重置密码 Reset password ${user.username}` }, bi("重置密码", "Reset password"));
  reset.addEventListener("click", () => act(reset, async () => {
    const answer = await api(`/api/admin/users/${encodeURIComponent(user.username)}/password`, { method: "POST", body: {} });
    shownOnce(`${user.username}: ${biText("新密码（仅显示一次）", "new password (shown once)")}`, answer.password);
  }));
  const edit = el("button", { type: "button", "aria-label": `编辑 Edit ${user.username}` }, bi("编辑", "Edit"));
  edit.addEventListener("click", () => fill(user));
  return el("tr", { dataset: { username: user.username } },
    el("td", {}, user.username, user.display_name !== user.username ? el("div", { class: "muted" }, user.display_name) : null),
    el("td", {}, user.role), el("td", {}, scope),
    el("td", {}, user.active ? bi("启用", "active") : el("span", { class: "light red" }, bi("停用", "disabled"))),
    el("td", {}, el("div", { class: "tools" }, edit, toggle, reset)));
}

function shownOnce(title, secret) {
  $("#user-secret").replaceChildren(el("p", {}, title), el("div", { class: "secret" }, secret));
}

function form() {
  const f = el("form", { id: "user-form", class: "panel" },
    el("h3", {}, bi("新建或修改用户", "Create or change a user")),
    field("u-username", "用户名", "Username", el("input", { required: true, maxlength: 64, autocomplete: "off" })),
    field("u-name", "姓名", "Display name", el("input", { maxlength: 64 })),
    field("u-role", "角色", "Role", choices(ROLES, "agent")),
    field("u-interface", "坐席分机接口（坐席）", "Agent interface (agents)", el("input", { maxlength: 64, placeholder: "PJSIP/1001" })),
    field("u-unit", "承办单位（承办人）", "Unit (handlers)", el("input", { maxlength: 48, placeholder: "dept:320102:water_supply" })),
    field("u-region", "地区（班长）", "Region (supervisors)", el("input", { maxlength: 6, placeholder: "320100" })),
    field("u-password", "密码（留空则生成）", "Password (empty: generated)", el("input", { type: "password", maxlength: 256, autocomplete: "new-password" })),
    el("div", { class: "tools" },
      el("button", { type: "submit", class: "primary", id: "u-create" }, bi("新建", "Create")),
      el("button", { type: "button", id: "u-save" }, bi("保存角色与范围", "Save role and scope"))));
  const profile = () => ({
    role: $("#u-role").value, display_name: $("#u-name").value.trim(),
    agent_interface: $("#u-interface").value.trim() || null, unit_id: $("#u-unit").value.trim() || null,
    region_code: $("#u-region").value.trim() || null,
  });
  f.addEventListener("submit", (event) => {
    event.preventDefault();
    act($("#u-create"), async () => {
      const answer = await api("/api/admin/users", { method: "POST", body: {
        ...profile(), username: $("#u-username").value.trim(), password: $("#u-password").value || null } });
      showMessage(`${answer.user.username}: ${biText("已创建", "created")}`);
      if (answer.password) shownOnce(`${answer.user.username}: ${biText("初始密码（仅显示一次）", "password (shown once)")}`, answer.password);
      await loadUsers($("#user-list"));
    });
  });
  f.querySelector("#u-save").addEventListener("click", (event) => act(event.currentTarget, async () => {
    const username = $("#u-username").value.trim();
    await api(`/api/admin/users/${encodeURIComponent(username)}/profile`, { method: "PUT", body: profile() });
    showMessage(`${username}: ${biText("已保存，会话已结束", "saved, sessions ended")}`);
    await loadUsers($("#user-list"));
  }));
  return f;
}

function fill(user) {
  $("#u-username").value = user.username;
  $("#u-name").value = user.display_name;
  $("#u-role").value = user.role;
  $("#u-interface").value = user.agent_interface || "";
  $("#u-unit").value = user.unit_id || "";
  $("#u-region").value = user.region_code || "";
  $("#u-password").value = "";
  $("#u-role").focus();
}
