// How the panel reaches the service worker and remembers its state, inside the extension.

const RELOAD = "stepback was updated or restarted; reload Gmail to use it again.";

/** Ask the service worker to call one API operation; never rejects. */
export async function extensionTransport(op, body) {
  try {
    const answer = await chrome.runtime.sendMessage({ type: "api", op, body });
    return answer ?? { ok: false, problem: "unreachable", status: 0, message: RELOAD };
  } catch {
    // The extension context is gone (updated or reloaded): only a page reload helps.
    return { ok: false, problem: "reload", status: 0, message: RELOAD };
  }
}

/** Ask the service worker to sign in (may open Google's sign-in window). */
export async function extensionSignIn() {
  try {
    return await chrome.runtime.sendMessage({ type: "signIn" });
  } catch {
    return null;
  }
}

/** The panel's small preferences, in chrome.storage.local. */
export const extensionStorage = {
  async get(key) {
    const stored = await chrome.storage.local.get(key);
    return stored[key];
  },
  async set(key, value) {
    await chrome.storage.local.set({ [key]: value });
  },
};
