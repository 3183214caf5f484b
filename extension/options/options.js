// The options page: backend address, sign-in state, sign out, and the developer token.

import {
  KEYS,
  isBuiltInBackend,
  normaliseBackend,
  originPattern,
  readBackend,
  readDevToken,
  writeBackend,
  writeDevToken,
} from "../src/settings.js";

const $ = (id) => document.getElementById(id);

function describe(state) {
  if (!state) {
    return "stepback's background worker did not answer; reload this page.";
  }
  if (state.signedIn && state.me) {
    const how = state.source === "developer" ? " (developer token)" : "";
    return `Signed in as ${state.me.email}${how}, connected to ${state.backend}.`;
  }
  switch (state.problem) {
    case "signed_out":
      return state.source
        ? `The server refused the sign-in: ${state.message || "sign in again."}`
        : "Not signed in.";
    case "unreachable":
      return `stepback can't reach ${state.backend}. Check the address and that the server runs.`;
    case "forbidden":
      return state.message || "This Google account is not set up in stepback; ask your admin.";
    default:
      return state.message || "stepback could not check the sign-in.";
  }
}

async function ask(type) {
  try {
    return await chrome.runtime.sendMessage({ type });
  } catch {
    return null;
  }
}

async function showState(type = "status") {
  $("account-state").textContent = "Checking…";
  const state = await ask(type);
  $("account-state").textContent = describe(state);
  $("account-state").dataset.signedIn = String(Boolean(state?.signedIn));
}

async function saveBackend(event) {
  event.preventDefault();
  const result = $("backend-result");
  try {
    const wanted = $("backend").value;
    // Validate first, then ask for the host permission while we still have the click.
    const backend = normaliseBackend(wanted);
    if (!isBuiltInBackend(backend)) {
      const granted = await chrome.permissions.request({ origins: [originPattern(backend)] });
      if (!granted) {
        result.textContent = "stepback needs permission to talk to that server; nothing was changed.";
        return;
      }
    }
    $("backend").value = await writeBackend(backend);
    result.textContent = `Saved. stepback now uses ${backend}.`;
  } catch (error) {
    result.textContent = error.message;
    return;
  }
  await showState();
}

async function saveDevToken(event) {
  event.preventDefault();
  await writeDevToken($("dev-token").value);
  $("dev-result").textContent = $("dev-token").value.trim() ? "Developer token saved." : "Developer token removed.";
  await showState();
}

async function clearDevToken() {
  $("dev-token").value = "";
  await writeDevToken("");
  $("dev-result").textContent = "Developer token removed.";
  await showState();
}

async function showNotifySetting() {
  const stored = await chrome.storage.local.get(KEYS.notifyDaily);
  const granted = await chrome.permissions.contains({ permissions: ["notifications"] });
  $("notify-daily").checked = stored[KEYS.notifyDaily] === true && granted;
}

async function changeNotify(event) {
  const result = $("notify-result");
  if (event.target.checked) {
    // Asked for only now, on the rep's click: the permission is optional in the manifest.
    const granted = await chrome.permissions.request({ permissions: ["notifications"] });
    if (!granted) {
      event.target.checked = false;
      result.textContent = "Chrome did not allow notifications; nothing was changed.";
      return;
    }
    await chrome.storage.local.set({ [KEYS.notifyDaily]: true });
    result.textContent = "A notification will come once a day when get-backs are due.";
  } else {
    await chrome.storage.local.set({ [KEYS.notifyDaily]: false });
    await chrome.permissions.remove({ permissions: ["notifications"] }).catch(() => false);
    result.textContent = "No desktop notifications.";
  }
}

async function init() {
  $("backend").value = await readBackend();
  $("dev-token").value = (await readDevToken()) || "";
  $("backend-form").addEventListener("submit", saveBackend);
  $("dev-form").addEventListener("submit", saveDevToken);
  $("dev-clear").addEventListener("click", clearDevToken);
  $("notify-daily").addEventListener("change", changeNotify);
  await showNotifySetting();
  $("sign-in").addEventListener("click", () => showState("signIn"));
  $("sign-out").addEventListener("click", async () => {
    // Signing out also drops a developer token, so no credential is left behind.
    await writeDevToken("");
    $("dev-token").value = "";
    await showState("signOut");
  });
  await showState();
}

init();
