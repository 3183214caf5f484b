// stepback's service worker: sign-in and every call to the stepback server.
// The content script and the options page talk to it with chrome.runtime.sendMessage:
//   { type: "api", op, body }   → { ok, status, data } | { ok: false, problem, message, ... }
//   { type: "status" }          → { backend, signedIn, source, me, problem, message }
//   { type: "signIn" } / { type: "signOut" } → the same as "status", afterwards
//   { type: "day", silentLimit? } → the "day" operation's answer (the popup; sets the badge)
//
// The toolbar badge counts get-backs due and replies owed past the team's reply target. It is
// refreshed by a chrome.alarms alarm every 15 minutes, when the popup opens, after a get-back
// changes, and when the settings change (sign-in, another server).

import { callApi, OPERATIONS } from "./api.js";
import { dropToken, getToken, signOut } from "./auth.js";
import { KEYS, readBackend } from "./settings.js";

const ALARM = "stepback-day";
const REFRESH_MINUTES = 15;
// A calm slate, never an alarm red: the badge is a reminder, not a warning.
const BADGE_COLOUR = "#4a6572";
const CHANGES_GETBACKS = new Set(["scheduleGetback", "moveGetback", "closeGetback"]);

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

function plural(count, word, many = `${word}s`) {
  return `${count} ${count === 1 ? word : many}`;
}

function badgeTitle(result) {
  if (!result.ok) {
    return result.problem === "signed_out" ? "stepback: not signed in" : `stepback: ${result.message || ""}`.trim();
  }
  const { due = 0, replyOwed = 0 } = result.data?.counts ?? {};
  if (!due && !replyOwed) {
    return "stepback: nothing due today";
  }
  const parts = [];
  if (due) parts.push(`${plural(due, "get-back")} due`);
  if (replyOwed) parts.push(`${plural(replyOwed, "reply", "replies")} waiting`);
  return `stepback: ${parts.join(", ")}`;
}

async function showBadge(result) {
  const count = result.ok ? Number(result.data?.counts?.badge) || 0 : 0;
  await chrome.action.setBadgeBackgroundColor({ color: BADGE_COLOUR });
  await chrome.action.setBadgeText({ text: count > 99 ? "99+" : count > 0 ? String(count) : "" });
  await chrome.action.setTitle({ title: badgeTitle(result) });
}

/** The calendar day in the rep's zone ("2026-12-01"), so "once a day" follows their day. */
function localDay(timezone) {
  try {
    return new Intl.DateTimeFormat("en-CA", { timeZone: timezone }).format(new Date());
  } catch {
    return new Intl.DateTimeFormat("en-CA").format(new Date());
  }
}

async function maybeNotify(day) {
  const due = Number(day?.counts?.due) || 0;
  if (!due || !chrome.notifications) {
    return; // chrome.notifications exists only once the rep granted the optional permission
  }
  const stored = await chrome.storage.local.get([KEYS.notifyDaily, KEYS.lastNotified]);
  const today = localDay(day.timezone);
  if (stored[KEYS.notifyDaily] !== true || stored[KEYS.lastNotified] === today) {
    return;
  }
  if (!(await chrome.permissions.contains({ permissions: ["notifications"] }))) {
    return;
  }
  await chrome.storage.local.set({ [KEYS.lastNotified]: today });
  chrome.notifications.create(ALARM, {
    type: "basic",
    iconUrl: chrome.runtime.getURL("icons/icon128.png"),
    title: "stepback",
    message: `${plural(due, "get-back")} today`,
    priority: 0,
  });
}

/** Fetch the rep's day, update the badge, and maybe show the daily notification. */
async function refreshDay({ silentLimit = null } = {}) {
  const body = Number.isInteger(silentLimit) ? { silentLimit } : null;
  const result = await call("day", body);
  await showBadge(result).catch(() => {});
  if (result.ok) {
    await maybeNotify(result.data).catch(() => {});
  }
  return result;
}

async function schedule() {
  if (!(await chrome.alarms.get(ALARM))) {
    await chrome.alarms.create(ALARM, { delayInMinutes: 1, periodInMinutes: REFRESH_MINUTES });
  }
  await refreshDay();
}

async function handle(message) {
  switch (message?.type) {
    case "api": {
      if (!Object.hasOwn(OPERATIONS, message.op) || message.op === "me") {
        return { ok: false, problem: "invalid", status: 0, message: "Unknown operation." };
      }
      const result = await call(message.op, message.body);
      if (result.ok && CHANGES_GETBACKS.has(message.op)) {
        await refreshDay();
      }
      return result;
    }
    case "day":
      return refreshDay({ silentLimit: message.silentLimit });
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

// Listeners are registered at the top level so Chrome can wake the worker for them.
chrome.runtime.onInstalled.addListener(() => {
  schedule();
});
chrome.runtime.onStartup.addListener(() => {
  schedule();
});
chrome.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === ALARM) {
    refreshDay();
  }
});
chrome.storage.onChanged.addListener((changes) => {
  // A new server address or token: show that account's day, or clear the badge.
  if (KEYS.backend in changes || KEYS.devToken in changes) {
    refreshDay();
  }
});
