// The content script on Gmail: find compose windows as they appear and mount a panel in each.

import * as adapter from "./gmail_adapter.js";
import { mountPanel } from "./panel.js";
import { loadRules } from "./pressure.js";
import { extensionSignIn, extensionStorage, extensionTransport } from "./transport.js";

let rulesPromise = null;

function hasElement(nodes) {
  for (const node of nodes) {
    if (node.nodeType === 1) {
      return true;
    }
  }
  return false;
}

function rules() {
  // One copy of the rules for every compose window; the file ships inside the extension.
  rulesPromise ??= loadRules(chrome.runtime.getURL("shared/pressure_rules.json"));
  return rulesPromise;
}

/** Watch the page and keep one panel per compose body; returns a stop function. */
export function start(doc = document) {
  const panels = new Map(); // compose body -> panel controller
  let scheduled = false;

  function scan() {
    scheduled = false;
    for (const [body, panel] of panels) {
      if (!body.isConnected) {
        panel.destroy();
        panels.delete(body);
      }
    }
    for (const compose of adapter.findComposes(doc)) {
      if (panels.has(compose.body)) {
        continue;
      }
      try {
        panels.set(compose.body, mountPanel({
          compose,
          adapter,
          transport: extensionTransport,
          storage: extensionStorage,
          rules: rules(),
          surface: "extension",
          onSignIn: extensionSignIn,
          doc,
        }));
      } catch (error) {
        console.warn("stepback could not add its panel:", error);
      }
    }
  }

  const observer = new MutationObserver((mutations) => {
    if (scheduled) {
      return;
    }
    // Only added or removed elements outside our own panel can mean a compose window
    // opened or closed; Gmail's text and attribute churn is skipped cheaply.
    const relevant = mutations.some((m) => !adapter.isOurs(m.target)
      && (hasElement(m.addedNodes) || hasElement(m.removedNodes)));
    if (!relevant) {
      return;
    }
    scheduled = true;
    queueMicrotask(scan);
  });
  observer.observe(doc.documentElement, { childList: true, subtree: true });
  scan();
  return () => {
    observer.disconnect();
    for (const panel of panels.values()) {
      panel.destroy();
    }
    panels.clear();
  };
}
