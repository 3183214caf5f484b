// stepback's service worker: sign-in and every call to the stepback server.
// The content script and the options page talk to it with chrome.runtime.sendMessage:
//   { type: "api", op, body }   → { ok, status, data } | { ok: false, problem, message, ... }
//   { type: "status" }          → { backend, signedIn, source, me, problem, message }
//   { type: "signIn" } / { type: "signOut" } → the same as "status", afterwards

import { callApi, OPERATIONS } from "./api.js";
import { dropToken, getToken, signOut } from "./auth.js";
import { readBackend } from "./settings.js";

async function call(op, body, { interactive = false } = {}) {
  const backend = await readBackend();
  let grant = await getToken({ interactive });
  let result = await callApi(op, body, { backend, token: grant?.token });
  if (!result.ok && result.status === 401 && grant && grant.source !== "developer") {
    // A cached Google token may have been revoked or expired early: fetch a fresh one once.
    await dropToken(grant);
    grant = await getToken({ interactive: false });
    if (grant) {
      result = await callApi(op, body, { backend, token: grant.token });
    }
  }
  return result;
}

async function status({ interactive = false } = {}) {
  const backend = await readBackend();
  const grant = await getToken({ interactive });
  const base = { backend, signedIn: false, source: grant?.source ?? null, me: null };
  if (!grant) {
    return { ...base, problem: "signed_out", message: "Not signed in." };
  }
  const result = await call("me", null);
  if (result.ok) {
    return { ...base, signedIn: true, me: result.data, problem: null, message: "" };
  }
  return { ...base, problem: result.problem, message: result.detail || result.message };
}

async function handle(message) {
  switch (message?.type) {
    case "api":
      if (!Object.hasOwn(OPERATIONS, message.op) || message.op === "me") {
        return { ok: false, problem: "invalid", status: 0, message: "Unknown operation." };
      }
      return call(message.op, message.body);
    case "status":
      return status();
    case "signIn":
      return status({ interactive: true });
    case "signOut":
      await signOut();
      return status();
    default:
      return { ok: false, problem: "invalid", status: 0, message: "Unknown message." };
  }
}

chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
  // Only this extension's own pages and content scripts may ask (no externally_connectable).
  if (sender.id !== chrome.runtime.id) {
    return false;
  }
  handle(message).then(sendResponse, (error) => {
    sendResponse({ ok: false, problem: "server", status: 0, message: String(error?.message || error) });
  });
  return true; // the answer comes asynchronously
});
