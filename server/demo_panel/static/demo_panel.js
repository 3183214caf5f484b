// The /demo/panel page: the extension's own panel module on a stand-in compose box.
// Calls go to this server's /demo/panel/api/v1/... (same answers as the JSON API, as the demo
// rep), with the page's CSRF token; all text is set with textContent.

import { callApi } from "/demo/panel/ext/src/api.js";
import * as adapter from "/demo/panel/ext/src/gmail_adapter.js";
import { mountPanel } from "/demo/panel/ext/src/panel.js";
import { loadRules } from "/demo/panel/ext/src/pressure.js";

const data = JSON.parse(document.getElementById("demo-data").textContent);
const compose = document.getElementById("compose");
const body = document.getElementById("body");
const toRow = document.getElementById("to-row");
const subject = compose.querySelector('input[name="subjectbox"]');
const picker = document.getElementById("prospect");
const rules = loadRules("/demo/panel/ext/shared/pressure_rules.json");

// The session cookie and CSRF token stand in for the extension's Google token.
function demoFetch(url, init) {
  return fetch(url, {
    ...init,
    credentials: "same-origin",
    headers: { ...init.headers, "X-CSRF-Token": data.csrf },
  });
}

function transport(op, payload) {
  return callApi(op, payload, { backend: "/demo/panel", token: "demo-session", fetchImpl: demoFetch });
}

const storage = {
  async get(key) {
    try {
      return JSON.parse(localStorage.getItem(`stepback.${key}`));
    } catch {
      return undefined;
    }
  },
  async set(key, value) {
    localStorage.setItem(`stepback.${key}`, JSON.stringify(value));
  },
};

let panel = null;

function writeTo(prospect) {
  for (const chip of toRow.querySelectorAll(".chip")) {
    chip.remove();
  }
  const hidden = toRow.querySelector('input[name="to"]');
  hidden.value = "";
  body.replaceChildren();
  // Gmail keeps a reply's thread id in the compose form's hidden `lts` input.
  const lts = compose.querySelector('input[name="lts"]');
  lts.value = "";
  subject.value = "";
  if (prospect) {
    const chip = document.createElement("span");
    chip.className = "chip";
    chip.setAttribute("data-hovercard-id", prospect.email);
    chip.setAttribute("data-name", prospect.name || "");
    chip.textContent = prospect.name || prospect.email;
    chip.title = prospect.email;
    toRow.append(chip);
    hidden.value = prospect.email;
    subject.value = prospect.subject ? `Re: ${prospect.subject}` : "";
    lts.value = prospect.threadId || "";
  }
  panel?.destroy();
  const [found] = adapter.findComposes(document).filter((c) => c.root === compose);
  panel = mountPanel({ compose: found, adapter, transport, storage, rules, surface: "extension" });
}

picker.addEventListener("change", () => writeTo(data.prospects[Number(picker.value)] ?? null));
writeTo(data.prospects[0] ?? null);
