// Everything stepback knows about Gmail's page structure lives in this one module, so a
// change on Gmail's side is a one-file fix. Selectors prefer stable hooks (ARIA roles,
// Gmail's `g_editable` and `name=subjectbox`, the address attributes of recipient chips,
// thread-id data attributes) over Gmail's generated class names, with fallbacks in order.

export const SELECTORS = Object.freeze({
  // The message body of a compose window (new message, reply, inline reply, pop-out).
  body: [
    'div[contenteditable="true"][role="textbox"]',
    'div[g_editable="true"][contenteditable="true"]',
    'div.editable[contenteditable="true"]',
  ],
  dialog: 'div[role="dialog"]',
  subject: ['input[name="subjectbox"]', 'input[name="subject"]'],
  // Recipient chips carry the address in one of these attributes.
  chip: ["[data-hovercard-id]", "[email]"],
  chipAddressAttrs: ["data-hovercard-id", "email"],
  chipNameAttrs: ["data-name", "name"],
  // Hidden inputs Gmail keeps in sync with the chips ("Name <addr>, addr2").
  hiddenRecipients: ['input[name="to"]', 'input[name="cc"]'],
  // The open thread: the legacy id is the Gmail API thread id (hex); the permanent id holds
  // the same number in decimal ("thread-f:<decimal>").
  threadAttrs: ["data-legacy-thread-id", "data-thread-perm-id"],
  // Parts of the body that are not the rep's new text.
  notDraft: [".gmail_quote", "blockquote", ".gmail_signature", '[data-smartmail="gmail_signature"]'],
});

const PANEL_ATTR = "data-stepback-panel";
const EMAIL = /^[^\s@<>()",;:]+@[^\s@<>()",;:]+\.[^\s@<>()",;:]+$/;
const HEX_THREAD = /^[0-9a-f]{10,20}$/i;

function any(list) {
  return list.join(", ");
}

/** Whether a node belongs to stepback's own panel (its mutations are not Gmail's). */
export function isOurs(node) {
  const element = node?.nodeType === 1 ? node : node?.parentElement;
  return Boolean(element?.closest?.(`[${PANEL_ATTR}]`));
}

export function markPanelHost(element) {
  element.setAttribute(PANEL_ATTR, "");
}

const COMPOSE_PARTS = any([...SELECTORS.subject, ...SELECTORS.chip, ...SELECTORS.hiddenRecipients]);

function hasComposeParts(element, body) {
  // Addresses quoted inside the body do not make its container a compose window.
  for (const part of element.querySelectorAll(COMPOSE_PARTS)) {
    if (!body.contains(part)) {
      return true;
    }
  }
  return false;
}

/** The element holding one compose window's fields, found from its body. */
export function composeRoot(body) {
  const dialog = body.closest(SELECTORS.dialog);
  if (dialog) {
    return dialog;
  }
  // The nearest ancestor that also holds the recipients or the subject is the compose area;
  // for an inline reply that is the reply box, not the whole thread around it.
  for (let node = body.parentElement; node && node !== document.body; node = node.parentElement) {
    if (hasComposeParts(node, body)) {
      return node;
    }
  }
  return body.parentElement ?? body;
}

function composeKind(root, loc) {
  if (/[?&#]view=cm\b/.test(`${loc.search}${loc.hash}`)) {
    return "popout";
  }
  return root.matches(SELECTORS.dialog) ? "dialog" : "inline";
}

/** Every compose window on the page: [{ root, body, kind }]. */
export function findComposes(doc = document, loc = location) {
  const seen = new Set();
  const out = [];
  for (const body of doc.querySelectorAll(any(SELECTORS.body))) {
    if (seen.has(body) || isOurs(body) || body.parentElement?.closest(any(SELECTORS.body))) {
      continue; // nested editables belong to the outer body
    }
    seen.add(body);
    const root = composeRoot(body);
    out.push({ root, body, kind: composeKind(root, loc) });
  }
  return out;
}

/** Split "Name <a@x>, \"Last, First\" <b@y>, c@z" at the commas outside quotes and <>. */
function splitList(value) {
  const parts = [];
  let current = "";
  let quoted = false;
  let angled = false;
  for (const ch of String(value || "")) {
    if (ch === '"' && !angled) {
      quoted = !quoted;
    } else if (ch === "<" && !quoted) {
      angled = true;
    } else if (ch === ">" && !quoted) {
      angled = false;
    } else if ((ch === "," || ch === ";") && !quoted && !angled) {
      parts.push(current);
      current = "";
      continue;
    }
    current += ch;
  }
  parts.push(current);
  return parts;
}

function splitAddresses(value) {
  const out = [];
  for (const part of splitList(value)) {
    const angled = part.match(/<([^<>]+)>\s*$/);
    const email = (angled ? angled[1] : part).trim().toLowerCase();
    const name = angled ? part.slice(0, angled.index).trim().replace(/^"|"$/g, "") : "";
    if (EMAIL.test(email)) {
      out.push({ email, name });
    }
  }
  return out;
}

/** The compose window's To/Cc recipients: [{ email, name }], addresses lowercased, unique. */
export function readRecipients(compose) {
  const found = new Map();
  const add = (email, name) => {
    const clean = String(email || "").trim().toLowerCase();
    if (EMAIL.test(clean) && !found.has(clean)) {
      found.set(clean, { email: clean, name: String(name || "").trim() });
    }
  };
  for (const chip of compose.root.querySelectorAll(any(SELECTORS.chip))) {
    if (compose.body.contains(chip) || isOurs(chip)) {
      continue; // addresses quoted in the body are not recipients
    }
    const email = SELECTORS.chipAddressAttrs.map((a) => chip.getAttribute(a)).find(Boolean);
    let name = SELECTORS.chipNameAttrs.map((a) => chip.getAttribute(a)).find(Boolean) || "";
    if (!name) {
      const text = chip.textContent.trim();
      name = text.toLowerCase() === String(email).toLowerCase() ? "" : text;
    }
    add(email, name);
  }
  for (const input of compose.root.querySelectorAll(any(SELECTORS.hiddenRecipients))) {
    for (const { email, name } of splitAddresses(input.value)) {
      add(email, name);
    }
  }
  return [...found.values()];
}

export function readSubject(compose) {
  const input = compose.root.querySelector(any(SELECTORS.subject));
  return input ? String(input.value || "").trim() : "";
}

/** Turn a thread attribute's value into a Gmail API thread id (hex), or null. */
export function threadIdFrom(value) {
  const text = String(value || "").trim();
  const perm = text.match(/^thread-f:(\d{1,25})$/);
  if (perm) {
    try {
      return BigInt(perm[1]).toString(16);
    } catch {
      return null;
    }
  }
  const bare = text.replace(/^#/, "");
  return HEX_THREAD.test(bare) ? bare.toLowerCase() : null;
}

function threadIdIn(scope) {
  for (const attr of SELECTORS.threadAttrs) {
    const holder = scope.matches?.(`[${attr}]`) ? scope : scope.querySelector(`[${attr}]`);
    const id = holder && threadIdFrom(holder.getAttribute(attr));
    if (id) {
      return id;
    }
  }
  return null;
}

/**
 * The Gmail API thread id the compose window replies to, or null for a new message.
 * A reply carries it itself, or it is the thread open around an inline reply, or the URL's.
 */
export function readThreadId(compose, doc = document, loc = location) {
  const own = threadIdIn(compose.root);
  if (own) {
    return own;
  }
  for (const attr of SELECTORS.threadAttrs) {
    const holder = compose.root.closest(`[${attr}]`);
    const id = holder && threadIdFrom(holder.getAttribute(attr));
    if (id) {
      return id;
    }
  }
  if (compose.kind === "dialog") {
    return null; // a new message in a dialog is not about the thread behind it
  }
  const open = threadIdIn(doc);
  if (open) {
    return open;
  }
  const fromHash = loc.hash.match(/\/([0-9a-f]{16})(?:[/?]|$)/i);
  return fromHash ? fromHash[1].toLowerCase() : null;
}

/** The rep's own new text in the body: quoted history and the signature are left out. */
export function draftText(compose) {
  const skip = any(SELECTORS.notDraft);
  let out = "";
  for (const node of compose.body.childNodes) {
    if (node.nodeType === 3) {
      out += node.textContent;
    } else if (node.nodeType === 1 && !node.matches(skip) && !isOurs(node)) {
      const text = node.innerText ?? node.textContent ?? "";
      if (getComputedStyle(node).display.startsWith("inline")) {
        out += text;
      } else {
        // Block children are lines of their own, as Gmail shows them.
        out += `${out && !out.endsWith("\n") ? "\n" : ""}${text}\n`;
      }
    }
  }
  return out;
}

/** Where the panel goes: right after the body, inside the compose window. */
export function panelAnchor(compose) {
  return { parent: compose.body.parentElement, before: compose.body.nextSibling };
}

/**
 * The Gmail web address that opens one thread, by its Gmail API thread id, in the rep's
 * account; null when the id is not a hex API thread id.
 * - The API's thread id is the hex id Gmail's own URLs carry after the view name
 *   ("#inbox/14a03b7bb0d77dd9", github.com/KartikTalwar/gmail.js/issues/109).
 * - "#all/<id>" ("All Mail") opens the thread whatever its labels, archived too, where
 *   "#inbox/<id>" may not (bison.jp/cloud/791.html).
 * - The account goes in `authuser=<email>`: since April 2026 Gmail answers 404 for an address
 *   in the path ("/mail/u/<email>/"), while "/mail/u/0/?authuser=<email>" picks the signed-in
 *   account with that address, or asks to sign in (github.com/raycast/extensions/issues/27725,
 *   github.com/buttondown/sniper-link/pull/6).
 */
export function threadUrl(account, threadId) {
  const id = String(threadId || "").trim().toLowerCase();
  if (!HEX_THREAD.test(id)) {
    return null;
  }
  const url = new URL("https://mail.google.com/mail/u/0/");
  const email = String(account || "").trim();
  if (EMAIL.test(email)) {
    url.searchParams.set("authuser", email);
  }
  url.hash = `#all/${id}`;
  return url.toString();
}
