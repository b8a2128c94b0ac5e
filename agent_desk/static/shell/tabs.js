// Tabs (role=tablist of role=tab buttons): the arrow keys move between them, as screen readers expect.

import { $$ } from "./dom.js";

/** Left and right arrows in `list` focus and click the previous or next tab. */
export function arrowKeys(list) {
  list.addEventListener("keydown", (event) => {
    if (event.key !== "ArrowRight" && event.key !== "ArrowLeft") return;
    const tabs = $$("[role=tab]", list);
    const at = tabs.indexOf(document.activeElement);
    const next = tabs[(at + (event.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
    next.focus();
    next.click();
  });
}
