// The toolbar popup: asks the service worker for the rep's day (which also refreshes the
// badge) and renders it with day_view.js; moving or closing a get-back goes through the
// service worker's API operations too, so the badge follows at once.

import { renderDay } from "./day_view.js";

const root = document.getElementById("day");
let silentLimit = null;

async function ask(message) {
  try {
    return (await chrome.runtime.sendMessage(message)) ?? { ok: false, problem: "unreachable" };
  } catch {
    return { ok: false, problem: "unreachable" };
  }
}

const actions = {
  move: (id, dueAt) => ask({ type: "api", op: "moveGetback", body: { id, dueAt } }),
  close: (id) => ask({ type: "api", op: "closeGetback", body: { id } }),
  refresh: () => show(),
  showAll: (limit) => {
    silentLimit = limit;
    return show();
  },
  openOptions: () => chrome.runtime.openOptionsPage(),
};

async function show() {
  const result = await ask({ type: "day", silentLimit });
  root.removeAttribute("aria-busy");
  renderDay(root, result, actions);
}

show();
