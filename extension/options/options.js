// The options page: backend address, sign-in state, sign out, and the developer token.

import {
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

async function init() {
  $("backend").value = await readBackend();
  $("dev-token").value = (await readDevToken()) || "";
  $("backend-form").addEventListener("submit", saveBackend);
  $("dev-form").addEventListener("submit", saveDevToken);
  $("dev-clear").addEventListener("click", clearDevToken);
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
