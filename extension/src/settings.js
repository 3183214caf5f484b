// Settings shared by the service worker and the options page.
// The backend URL lives in chrome.storage.sync (follows the rep across browsers); the
// developer token lives in chrome.storage.local only (never synced).

export const DEFAULT_BACKEND = "http://127.0.0.1:5000";
export const KEYS = Object.freeze({
  backend: "backendUrl",
  devToken: "devToken",
  collapsed: "panelCollapsed",
  webToken: "webFlowToken",
  // The toolbar: the once-a-day notification (off unless the rep turns it on) and its day.
  notifyDaily: "notifyDaily",
  lastNotified: "lastNotifiedDay",
});
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** Check and tidy a backend URL; throws an Error with a one-line message when unusable. */
export function normaliseBackend(value) {
  const text = String(value ?? "").trim();
  if (!text) {
    return DEFAULT_BACKEND;
  }
  let url;
  try {
    url = new URL(text);
  } catch {
    throw new Error("Enter a full address such as https://stepback.example.com");
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK.has(url.hostname))) {
    throw new Error("Use https:// (plain http:// is only allowed for 127.0.0.1 or localhost).");
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new Error("Leave out user names, query strings and # parts.");
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

/** The host-permission pattern that covers a backend URL (any port, any path). */
export function originPattern(backend) {
  const url = new URL(backend);
  return `${url.protocol}//${url.hostname}/*`;
}

/** Whether the manifest already grants this backend (loopback); others need a request. */
export function isBuiltInBackend(backend) {
  const url = new URL(backend);
  return url.protocol === "http:" && LOOPBACK.has(url.hostname);
}

export async function readBackend() {
  const stored = await chrome.storage.sync.get(KEYS.backend);
  try {
    return normaliseBackend(stored[KEYS.backend]);
  } catch {
    return DEFAULT_BACKEND;
  }
}

export async function writeBackend(value) {
  const backend = normaliseBackend(value);
  await chrome.storage.sync.set({ [KEYS.backend]: backend });
  return backend;
}

export async function readDevToken() {
  const stored = await chrome.storage.local.get(KEYS.devToken);
  const token = stored[KEYS.devToken];
  return typeof token === "string" && token.trim() ? token.trim() : null;
}

export async function writeDevToken(token) {
  const clean = String(token ?? "").trim();
  if (clean) {
    await chrome.storage.local.set({ [KEYS.devToken]: clean });
  } else {
    await chrome.storage.local.remove(KEYS.devToken);
  }
}
