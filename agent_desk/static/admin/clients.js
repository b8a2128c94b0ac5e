// Open311 clients (web form, WeChat and app back ends): create one (its key is shown once) and
// revoke one (its key stops working at once). The same service as `hotline users api-client`.

import { api } from "../shell/api.js";
import { $, el } from "../shell/dom.js";
import { CHANNELS, bi, biText, label } from "../shell/i18n.js";
import { act, showMessage } from "../shell/shell.js";
import { choices, field, table } from "./form.js";

export async function show(root) {
  const list = el("div", { id: "client-list" });
  const f = el("form", { id: "client-form", class: "panel" },
    el("h3", {}, bi("新建客户端", "New client")),
    field("c-name", "名称", "Name", el("input", { required: true, maxlength: 64, pattern: "[\\w.\\-]+", placeholder: "wechat-backend" })),
    field("c-channel", "渠道", "Channel", choices(Object.keys(CHANNELS).filter((c) => c !== "phone")
      .map((c) => [c, label(CHANNELS, c)]), "open311")),
    el("button", { type: "submit", class: "primary", id: "c-create" }, bi("新建", "Create")),
    el("div", { id: "client-secret", "aria-live": "polite" }));
  f.addEventListener("submit", (event) => {
    event.preventDefault();
    act($("#c-create"), async () => {
      const answer = await api("/api/admin/api-clients", { method: "POST",
        body: { name: $("#c-name").value.trim(), channel: $("#c-channel").value } });
      $("#client-secret").replaceChildren(el("p", {}, `${answer.client.name}: api_key ${biText("（仅显示一次）", "(shown once)")}`),
        el("div", { class: "secret" }, answer.api_key));
      await load(list);
    });
  });
  root.append(el("div", { class: "split" }, list, f));
  await load(list);
}

async function load(list) {
  const page = await api("/api/admin/api-clients");
  list.replaceChildren(page.items.length ? table([["名称", "Name"], ["渠道", "Channel"], ["状态", "Status"], ["操作", "Actions"]],
    page.items.map((client) => {
      const revoke = client.active ? el("button", { type: "button", "aria-label": `吊销 Revoke ${client.name}` }, bi("吊销", "Revoke")) : null;
      revoke?.addEventListener("click", () => act(revoke, async () => {
        await api(`/api/admin/api-clients/${encodeURIComponent(client.name)}/revoke`, { method: "POST" });
        showMessage(`${client.name}: ${biText("已吊销", "revoked")}`);
        await load(list);
      }));
      return el("tr", {}, el("td", {}, client.name), el("td", {}, label(CHANNELS, client.channel)),
        el("td", {}, client.active ? bi("有效", "active") : el("span", { class: "light red" }, bi("已吊销", "revoked"))),
        el("td", {}, revoke));
    })) : el("p", { class: "empty" }, bi("还没有客户端", "No clients yet")));
}
