// Getting a Google access token for the stepback server (service worker only).
//
// Order: a developer token from the options page (tests and local development, because
// chrome.identity cannot reach Google there) → chrome.identity.getAuthToken (Chrome with a
// signed-in profile) → launchWebAuthFlow (other Chromium builds). Tokens from the web flow are
// kept in chrome.storage.session, which is memory only and gone when the browser closes.

import { KEYS, readDevToken } from "./settings.js";

const AUTH_URL = "https://accounts.google.com/o/oauth2/v2/auth";
const SCOPES = ["openid", "email"];
// Refresh a web-flow token a minute before Google says it expires.
const EXPIRY_MARGIN_MS = 60_000;

function clientId() {
  return chrome.runtime.getManifest().oauth2?.client_id ?? "";
}

async function chromeToken(interactive) {
  if (!chrome.identity?.getAuthToken) {
    return null;
  }
  try {
    const result = await chrome.identity.getAuthToken({ interactive, scopes: SCOPES });
    // Older Chrome versions resolve with the bare string, newer ones with { token }.
    const token = typeof result === "string" ? result : result?.token;
    return token || null;
  } catch {
    return null;
  }
}

async function cachedWebToken() {
  const stored = await chrome.storage.session.get(KEYS.webToken);
  const entry = stored[KEYS.webToken];
  if (entry && typeof entry.token === "string" && entry.expiresAt - EXPIRY_MARGIN_MS > Date.now()) {
    return entry.token;
  }
  return null;
}

function randomState() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function webFlowToken(interactive) {
  const cached = await cachedWebToken();
  if (cached || !interactive || !chrome.identity?.launchWebAuthFlow || !clientId()) {
    return cached;
  }
  const state = randomState();
  const url = new URL(AUTH_URL);
  url.search = new URLSearchParams({
    client_id: clientId(),
    response_type: "token",
    redirect_uri: chrome.identity.getRedirectURL("oauth2"),
    scope: SCOPES.join(" "),
    state,
    include_granted_scopes: "true",
  }).toString();
  let answer;
  try {
    answer = await chrome.identity.launchWebAuthFlow({ url: url.toString(), interactive: true });
  } catch {
    return null;
  }
  const fragment = new URLSearchParams(new URL(answer).hash.slice(1));
  const token = fragment.get("access_token");
  if (!token || fragment.get("state") !== state) {
    return null;
  }
  const seconds = Number(fragment.get("expires_in")) || 3600;
  await chrome.storage.session.set({
    [KEYS.webToken]: { token, expiresAt: Date.now() + seconds * 1000 },
  });
  return token;
}

/**
 * Return { token, source } or null when the rep is not signed in.
 * `interactive` may show Google's sign-in window; only pass true after a click.
 */
export async function getToken({ interactive = false } = {}) {
  const dev = await readDevToken();
  if (dev) {
    return { token: dev, source: "developer" };
  }
  const fromChrome = await chromeToken(interactive);
  if (fromChrome) {
    return { token: fromChrome, source: "chrome" };
  }
  const fromWeb = await webFlowToken(interactive);
  return fromWeb ? { token: fromWeb, source: "web" } : null;
}

/** Forget a token the server refused, so the next call fetches a fresh one. */
export async function dropToken(grant) {
  if (!grant) {
    return;
  }
  if (grant.source === "chrome" && chrome.identity?.removeCachedAuthToken) {
    await chrome.identity.removeCachedAuthToken({ token: grant.token }).catch(() => {});
  } else if (grant.source === "web") {
    await chrome.storage.session.remove(KEYS.webToken);
  }
}

/** Sign out of stepback in this browser (the developer token is removed on the options page). */
export async function signOut() {
  const grant = await chromeToken(false);
  if (grant) {
    await dropToken({ token: grant, source: "chrome" });
  }
  if (chrome.identity?.clearAllCachedAuthTokens) {
    await chrome.identity.clearAllCachedAuthTokens().catch(() => {});
  }
  await chrome.storage.session.remove(KEYS.webToken);
}
