// The /demo/popup page: the extension's own popup rendering on a stand-in toolbar button.
// Calls go to this server's /demo/popup/api/v1/... (the JSON API's answers, as the demo rep)
// with the page's CSRF token; all text is set with textContent.

import { callApi } from "/demo/popup/ext/src/api.js";
import { renderDay } from "/demo/popup/ext/popup/day_view.js";

const data = JSON.parse(document.getElementById("demo-data").textContent);
const root = document.getElementById("day");
const badge = document.getElementById("badge");
let silentLimit = null;

// The session cookie and CSRF token stand in for the extension's Google token.
function demoFetch(url, init) {
  return fetch(url, {
    ...init,
    credentials: "same-origin",
    headers: { ...init.headers, "X-CSRF-Token": data.csrf },
  });
}

function call(op, body) {
  return callApi(op, body, { backend: "/demo/popup", token: "demo-session", fetchImpl: demoFetch });
}

const actions = {
  move: (id, dueAt) => call("moveGetback", { id, dueAt }),
  close: (id) => call("closeGetback", { id }),
  refresh: () => show(),
  showAll: (limit) => {
    silentLimit = limit;
    return show();
  },
};

async function show() {
  const result = await call("day", silentLimit ? { silentLimit } : null);
  const count = result.ok ? Number(result.data.counts.badge) || 0 : 0;
  badge.textContent = count > 99 ? "99+" : count > 0 ? String(count) : "";
  root.removeAttribute("aria-busy");
  renderDay(root, result, actions);
}

show();
