// The service worker's toolbar logic with a stand-in `chrome` object (run by node --test):
// badge text, colour and title from the day; the once-a-day notification only when turned on
// and allowed; the 15-minute alarm.
import assert from "node:assert/strict";
import { test } from "node:test";

function area(initial = {}) {
  const data = { ...initial };
  return {
    data,
    async get(keys) {
      const list = keys === undefined || keys === null ? Object.keys(data) : [keys].flat();
      return Object.fromEntries(list.filter((k) => k in data).map((k) => [k, data[k]]));
    },
    async set(values) {
      Object.assign(data, values);
    },
    async remove(keys) {
      for (const key of [keys].flat()) delete data[key];
    },
  };
}

const listeners = {};
const on = (name) => ({ addListener: (fn) => { listeners[name] = fn; } });
const state = { badge: null, colour: null, title: null, notes: [], alarms: {}, granted: false };

globalThis.chrome = {
  runtime: {
    id: "ext-id",
    getManifest: () => ({ oauth2: { client_id: "" } }),
    getURL: (p) => `chrome-extension://ext-id/${p}`,
    onMessage: on("message"),
    onInstalled: on("installed"),
    onStartup: on("startup"),
  },
  storage: {
    sync: area(),
    local: area({ devToken: "tok" }),
    session: area(),
    onChanged: on("storageChanged"),
  },
  action: {
    setBadgeText: async ({ text }) => { state.badge = text; },
    setBadgeBackgroundColor: async ({ color }) => { state.colour = color; },
    setTitle: async ({ title }) => { state.title = title; },
  },
  alarms: {
    get: async (name) => state.alarms[name],
    create: async (name, info) => { state.alarms[name] = { name, ...info }; },
    onAlarm: on("alarm"),
  },
  permissions: { contains: async () => state.granted },
};

let dayAnswer = { status: 200, body: null };
globalThis.fetch = async (url) => {
  fetch.last = url;
  return new Response(JSON.stringify(dayAnswer.body), {
    status: dayAnswer.status,
    headers: { "Content-Type": "application/json" },
  });
};

function day(due, replyOwed) {
  return {
    email: "alex@northwind-demo.com", timezone: "America/New_York", locale: "en",
    now: "2026-11-20T15:00:00Z", due: [], replyOwed: [], silent: [],
    counts: { badge: due + replyOwed, due, replyOwed, silent: 3 },
  };
}

await import("../../../extension/src/background.js");

/** Wait until `check()` holds (the worker's listeners do their work asynchronously). */
async function until(check) {
  for (let i = 0; i < 200 && !check(); i += 1) {
    await new Promise((r) => setTimeout(r, 5));
  }
}

function ask(message) {
  return new Promise((resolve) => {
    listeners.message(message, { id: "ext-id" }, resolve);
  });
}

test("installing sets the 15-minute alarm and shows the day's count in a calm colour", async () => {
  dayAnswer = { status: 200, body: day(2, 1) };
  listeners.installed();
  await until(() => state.badge === "3");
  assert.equal(state.alarms["stepback-day"].periodInMinutes, 15);
  assert.equal(fetch.last, "http://127.0.0.1:5000/api/v1/day");
  assert.equal(state.badge, "3");
  assert.equal(state.colour, "#4a6572");
  assert.equal(state.title, "stepback: 2 get-backs due, 1 reply waiting");
});

test("nothing due clears the badge; a signed-out rep gets no count", async () => {
  dayAnswer = { status: 200, body: day(0, 0) };
  await ask({ type: "day" });
  assert.equal(state.badge, "");
  assert.equal(state.title, "stepback: nothing due today");
  dayAnswer = { status: 401, body: { error: { code: 401, message: "expired" } } };
  const answer = await ask({ type: "day" });
  assert.equal(answer.problem, "signed_out");
  assert.equal(state.badge, "");
  assert.equal(state.title, "stepback: not signed in");
});

test("the daily notification needs the switch and the permission, and comes once a day", async () => {
  dayAnswer = { status: 200, body: day(2, 0) };
  await ask({ type: "day" });
  assert.equal(chrome.notifications, undefined); // not granted: the API is not even there
  const created = [];
  chrome.notifications = { create: (id, opts) => created.push(opts) };
  state.granted = true;
  await ask({ type: "day" });
  assert.deepEqual(created, []); // the switch is off by default
  await chrome.storage.local.set({ notifyDaily: true });
  await ask({ type: "day" });
  await ask({ type: "day" });
  assert.equal(created.length, 1);
  assert.equal(created[0].message, "2 get-backs today");
  assert.equal(created[0].priority, 0);
  // A new day (in the rep's zone) notifies again.
  await chrome.storage.local.set({ lastNotifiedDay: "2000-01-01" });
  await ask({ type: "day" });
  assert.equal(created.length, 2);
  state.granted = false;
  await chrome.storage.local.set({ lastNotifiedDay: "2000-01-01" });
  await ask({ type: "day" });
  assert.equal(created.length, 2);
});

test("the alarm refreshes the badge, and so does a new sign-in", async () => {
  dayAnswer = { status: 200, body: day(1, 0) };
  state.badge = null;
  listeners.alarm({ name: "stepback-day" });
  await until(() => state.badge === "1");
  assert.equal(state.badge, "1");
  dayAnswer = { status: 200, body: day(4, 0) };
  listeners.storageChanged({ devToken: { newValue: "other" } });
  await until(() => state.badge === "4");
  assert.equal(state.badge, "4");
});
