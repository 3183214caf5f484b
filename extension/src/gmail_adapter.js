// Everything stepback knows about Gmail's page structure lives in this one module, so a
// change on Gmail's side is a one-file fix. Selectors prefer stable hooks (ARIA roles,
// Gmail's `g_editable` and `name=subjectbox`, the address attributes of recipient chips,
// thread-id data attributes) over Gmail's generated class names, with fallbacks in order.

// Sources of the facts below (read for facts only; no code taken from them):
// [SDK-C]  InboxSDK, packages/core/src/dom-driver/gmail/views/gmail-compose-view.ts
// [SDK-P]  InboxSDK, packages/core/src/dom-driver/gmail/views/gmail-compose-view/page-parser.ts
// [SDK-R]  InboxSDK, .../gmail-compose-view/get-recipients.ts and get-address-changes-stream.ts
// [SDK-T]  InboxSDK, packages/core/src/dom-driver/gmail/views/gmail-thread-view.test.ts
// [GJS]    gmail.js (KartikTalwar/gmail.js), src/gmail.js: api.dom.compose (inline `.M9`, popup
//          `.AD`, hidden `.GS input[type=hidden][name=to|cc|bcc]`), api.dom.thread (`div.if`, h2.hP)
// [PROBE]  live-probed notes of Gmail's DOM (2026) quoted in issue 16: `rt`'s *value* holds
//          "#thread-f:<decimal>|…"; list rows stay in the page, hidden, before the conversation
// [WS21]   workspaceupdates.googleblog.com/2021/10/visual-updates-for-composing-email-in-gmail
export const SELECTORS = Object.freeze({
  // The message body of a compose window (new message, reply, inline reply, pop-out):
  // `div[g_editable=true]` inside `.Ap` [SDK-C getMaybeBodyElement], role=textbox.
  body: [
    'div[contenteditable="true"][role="textbox"]',
    'div[g_editable="true"][contenteditable="true"]',
    'div.editable[contenteditable="true"]',
  ],
  // Floating and popped-out compose windows are `div.nH.Hd[role=dialog]` [SDK-C].
  dialog: 'div[role="dialog"]',
  // Every compose, inline or in a window, is a `div.M9` holding its fields [GJS api.dom.composes,
  // api.dom.compose]; an inline one sits in the conversation's `td.Bu` [GJS is_inline].
  composeContainer: "div.M9",
  // Compose windows live in the dock (`div.AD` under `.dw`) or the full-screen container
  // (`.aSs .aSt`) [SDK-CS setup-compose-view-driver-stream, gmail-element-getter]: never inline.
  composeDock: ["div.AD", ".dw", ".aSs .aSt"],
  // An inline reply sits inside the conversation: its message's `.ip` reply container
  // [SDK-MV _setupReplyStream], the conversation's `td.Bu` [GJS is_inline] or wrapper `div.if`.
  conversationArea: [".ip", "td.Bu", "div.if"],
  // Where one compose ends and the page around it begins: the conversation's heading and its
  // other messages, list rows [SDK-T; GJS api.dom.thread].
  outsideCompose: ["h2.hP", "h2[data-legacy-thread-id]", "h2[data-thread-perm-id]", "tr.zA"],
  // The recipients area of a compose: the `.GS` table, its rows and text boxes, whether or not
  // a chip is in it yet [SDK-P getRecipientRowElements, getOldRecipientRowForType].
  recipientArea: [".GS", ".anm[name]", 'input[role="combobox"]', '[name="to"]'],
  subject: ['input[name="subjectbox"]', 'input[name="subject"]'],
  // Hidden inputs of every compose's metadata form (`form.bAs`) [SDK-C getMetadataFormElement]:
  // composeid [SDK-C #composeID], draft ("#msg-a:r…") [SDK-C #messageIDElement],
  // lts (the hex thread id of the thread replied to) [SDK-C #setupIDs],
  // rt ("#thread-f:<decimal>|…" for a reply, empty for a new message) [PROBE].
  formMarkers: ['input[name="composeid"]', 'input[name="draft"]', 'input[name="lts"]', 'input[name="rt"]'],
  replyThreadInputs: ['input[name="lts"]', 'input[name="rt"]'],
  // Recipient chips. Since Gmail's 2021 compose update [WS21] a committed recipient is
  // `div[role=option][data-hovercard-id][data-name]` inside a `[role=listbox]` in
  // `.anm[name="to"|"cc"|"bcc"]`, next to a text input with role=combobox and no name
  // [SDK-P getRecipientRowForType, getRecipientChips; SDK-R]. The older chips are `.vR`
  // spans with `email` and a hidden `input[name=to|cc|bcc]` holding "Name <addr>" [SDK-P
  // getOldRecipientRowForType]. Bare `span.vN[email]` chips and addressed spans inside a row
  // named by its field are read too (the field comes from the row's name).
  chip: ['[role="option"][data-hovercard-id]', "[data-hovercard-id][data-name]", ".vR[email]", ".vR [email]",
    ".vN[email]", '[name="to"] [email]', '[name="cc"] [email]', '[name="bcc"] [email]'],
  chipAddressAttrs: ["data-hovercard-id", "email"],
  chipNameAttrs: ["data-name", "name"],
  // Old-style chip inputs and recipient textareas; their `name` tells the field.
  // The older rows' typing box is `textarea.vO[name=to]` or a plain `input[name=to]` [SDK-P].
  hiddenRecipients: ['.vR input[type="hidden"][name]', 'textarea[name="to"]', 'textarea[name="cc"]',
    'input[name="to"]', 'input[name="cc"]'],
  // The open conversation's heading carries the API's hex id in data-legacy-thread-id and
  // "thread-f:<decimal>" in data-thread-perm-id (`h2.hP`) [SDK-T]. List rows (`tr.zA`, and
  // the selected row `tr.aps` of the reading pane) carry data-legacy-thread-id and
  // data-thread-id too, on spans inside the row [SDK-T]: those are never read. The
  // conversation itself sits in table cells ('td > div.nH.if' [GJS]), so only list rows are
  // excluded, not every `tr`.
  // Some pages put the ids on the conversation's container around its h2 instead (public
  // extensions read '[data-thread-perm-id] h2'); such a container counts, a list row never.
  conversationHeading: ["h2[data-legacy-thread-id]", "h2[data-thread-perm-id]",
    "[data-legacy-thread-id]:has(h2)", "[data-thread-perm-id]:has(h2)"],
  listRow: "tr.zA",
  // A compose popped out into its own browser window: body classes `xE xp` [SDK-CS
  // gmail-element-getter isStandaloneComposeWindow].
  standaloneCompose: "body.xE.xp",
  headingAttrs: ["data-legacy-thread-id", "data-thread-perm-id"],
  // A message shown in a conversation [GJS api.dom.email].
  message: "div.adn",
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

const COMPOSE_PARTS = any([...SELECTORS.subject, ...SELECTORS.formMarkers, ...SELECTORS.chip,
  ...SELECTORS.hiddenRecipients]);

function holdsOutside(element, body, selector) {
  // Whether `element` holds a match of `selector` that is not inside the body (addresses
  // and ids quoted in the body say nothing about the compose around it).
  for (const part of element.querySelectorAll(selector)) {
    if (!body.contains(part)) {
      return true;
    }
  }
  return false;
}

function hasComposeParts(element, body) {
  return holdsOutside(element, body, COMPOSE_PARTS);
}

const BODIES = any(SELECTORS.body);

/** Whether `element` reaches past this compose: another compose's body or the page around it. */
function beyondCompose(element, body) {
  for (const other of element.querySelectorAll(BODIES)) {
    if (other !== body && !body.contains(other) && !other.contains(body) && !isOurs(other)) {
      return true;
    }
  }
  if (element.matches(any(SELECTORS.outsideCompose)) || holdsOutside(element, body, any(SELECTORS.outsideCompose))) {
    return true;
  }
  for (const message of element.querySelectorAll(SELECTORS.message)) {
    if (!message.contains(body)) {
      return true; // another message of the conversation
    }
  }
  return false;
}

/**
 * The element holding one compose window's fields, found from its body: the dialog of a
 * compose window; else the compose's `div.M9` [GJS]; else the nearest ancestor that holds both
 * the recipients area and the metadata form, never reaching past the compose into the page
 * (Gmail keeps the metadata form next to the body in `.aoP` and the recipients in a form of
 * their own [SDK-C getMetadataFormElement; SDK-P]); failing that, the nearest ancestor with
 * any compose part. For an inline reply that is the reply box, not the whole thread.
 */
export function composeRoot(body) {
  const dialog = body.closest(SELECTORS.dialog);
  if (dialog) {
    return dialog;
  }
  const container = body.closest(SELECTORS.composeContainer);
  if (container && !beyondCompose(container, body)) {
    return container;
  }
  let first = null;
  const recipients = any(SELECTORS.recipientArea);
  const markers = any(SELECTORS.formMarkers);
  for (let node = body.parentElement; node && node !== body.ownerDocument.body; node = node.parentElement) {
    if (beyondCompose(node, body)) {
      break;
    }
    if (!first && hasComposeParts(node, body)) {
      first = node;
    }
    if (first && holdsOutside(node, body, recipients) && holdsOutside(node, body, markers)) {
      return node;
    }
  }
  return first ?? body.parentElement ?? body;
}

function composeKind(root, loc) {
  // A compose popped out into its own browser window has view=cm in its URL [SDK-C
  // #isStandalone]; there is no conversation around it.
  if (/[?&#]view=cm\b/.test(`${loc.search}${loc.hash}`) || root.closest(SELECTORS.standaloneCompose)) {
    return "popout";
  }
  if (root.matches(SELECTORS.dialog) || root.closest(any(SELECTORS.composeDock))) {
    return "dialog";
  }
  return "inline";
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

/**
 * Bring a compose found earlier up to date: Gmail may put the body in the page before the
 * recipients and the metadata form around it, so the root (and kind) are found again from the
 * body while it is in the page.
 */
function current(compose, loc = location) {
  if (compose.body?.isConnected) {
    const root = composeRoot(compose.body);
    if (root !== compose.root) {
      compose.root = root;
      compose.kind = composeKind(root, loc);
    }
  }
  return compose;
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

const FIELDS = new Set(["to", "cc", "bcc"]);

function fieldFromLabel(label) {
  // "To recipients", "CC recipients", "BCC recipients" [SDK-P; PROBE]; Bcc checked first.
  const text = String(label || "").toLowerCase();
  if (/\bbcc\b/.test(text)) {
    return "bcc";
  }
  return /\bcc\b/.test(text) ? "cc" : "to";
}

/**
 * Which field ("to", "cc" or "bcc") a chip or input belongs to: its own `name` or a hidden
 * input's inside it (older chips), the nearest `[name=to|cc|bcc]` row (newer chips), else the
 * label of the one recipient combobox beside it. Unknown fields count as "to".
 */
function fieldOf(node, root) {
  const own = node.getAttribute("name") || node.querySelector?.("input[name]")?.getAttribute("name");
  if (own && FIELDS.has(own.toLowerCase())) {
    return own.toLowerCase();
  }
  for (let el = node; el && el !== root.parentElement; el = el.parentElement) {
    const name = (el.getAttribute("name") || "").toLowerCase();
    if (FIELDS.has(name)) {
      return name;
    }
    // An older chip (`.vR`) holds its field's hidden input as a child [SDK-P].
    const field = el.querySelector(':scope > input[type="hidden"][name]')?.getAttribute("name");
    if (field && FIELDS.has(field.toLowerCase())) {
      return field.toLowerCase();
    }
    const label = el.getAttribute("aria-label") || "";
    if (el !== root && /\b(to|cc|bcc)\b/i.test(label)) {
      return fieldFromLabel(label); // a labelled row or listbox ("Bcc", "BCC recipients")
    }
    const boxes = el.querySelectorAll('input[role="combobox"], textarea[role="combobox"]');
    if (boxes.length === 1) {
      return fieldFromLabel(boxes[0].getAttribute("aria-label"));
    }
    if (boxes.length > 1) {
      break; // the whole recipients area: the chip's own row had no label
    }
  }
  return "to";
}

/**
 * The compose window's To/Cc recipients: [{ email, name }], addresses lowercased, unique.
 * Bcc recipients are left out: a blind copy is never the person the draft is about.
 */
export function readRecipients(compose) {
  current(compose);
  const found = new Map();
  const add = (email, name, field) => {
    const clean = String(email || "").trim().toLowerCase();
    if (!EMAIL.test(clean)) {
      return;
    }
    const label = String(name || "").trim();
    if (field === "bcc") {
      return; // someone in To/Cc as well as Bcc is still listed, from their visible chip
    }
    if (!found.has(clean)) {
      found.set(clean, { email: clean, name: label });
    } else if (!found.get(clean).name && label) {
      found.get(clean).name = label; // a hidden input may know the name a chip did not show
    }
  };
  const skip = (node) => {
    if (compose.body.contains(node) || isOurs(node) || node.closest(any(SELECTORS.notDraft))) {
      return true;
    }
    // Senders and recipients shown in the conversation's messages (`div.adn` [GJS
    // api.dom.email]) are not this draft's, should the compose area reach around them.
    const message = node.closest(SELECTORS.message);
    return Boolean(message && !message.contains(compose.body));
  };
  for (const chip of compose.root.querySelectorAll(any(SELECTORS.chip))) {
    if (skip(chip)) {
      continue; // addresses quoted in the body are not recipients
    }
    // The first attribute that holds an address (a hovercard id is not always one).
    const email = SELECTORS.chipAddressAttrs.map((a) => String(chip.getAttribute(a) || "").trim())
      .find((value) => EMAIL.test(value.toLowerCase())) || "";
    let name = SELECTORS.chipNameAttrs.map((a) => chip.getAttribute(a)).find(Boolean) || "";
    if (!name) {
      const text = chip.textContent.trim();
      name = text.toLowerCase() === String(email).toLowerCase() ? "" : text;
    }
    add(email, name, fieldOf(chip, compose.root));
  }
  for (const input of compose.root.querySelectorAll(any(SELECTORS.hiddenRecipients))) {
    if (skip(input)) {
      continue;
    }
    const field = fieldOf(input, compose.root);
    for (const { email, name } of splitAddresses(input.value)) {
      add(email, name, field);
    }
  }
  return [...found.values()];
}

export function readSubject(compose) {
  current(compose);
  const input = compose.root.querySelector(any(SELECTORS.subject));
  return input ? String(input.value || "").trim() : "";
}

/**
 * Turn a Gmail thread value into a Gmail API thread id (hex), or null. Accepts the hex id
 * itself (lts, data-legacy-thread-id) and Gmail's permanent id "thread-f:<decimal>" with an
 * optional "#" and anything after a "|" (data-thread-perm-id, rt). The decimal is the same
 * 64-bit number as the API's hex id [SDK-T: the heading carries both], so BigInt converts it
 * exactly; "f:<decimal>" is the same id in short. "thread-a:…" ids (drafts not yet sent) and
 * "msg-f:…" (a message) have no API thread id.
 */
export function threadIdFrom(value) {
  const text = String(value || "").trim().replace(/^#/, "").split("|")[0].trim();
  // "f:<decimal>" is the short form of the same id (Gmail's URL tokens decode to either).
  const perm = text.match(/^(?:thread-)?f:(\d{1,25})$/);
  if (perm) {
    try {
      const id = BigInt(perm[1]);
      return id > 0n && id < 2n ** 64n ? id.toString(16) : null;
    } catch {
      return null;
    }
  }
  return HEX_THREAD.test(text) ? text.toLowerCase() : null;
}

/** The thread id in the compose's own hidden inputs (lts first, then rt), or null. */
function ownThreadId(root) {
  for (const selector of SELECTORS.replyThreadInputs) {
    for (const input of root.querySelectorAll(selector)) {
      const id = threadIdFrom(input.value);
      if (id) {
        return id;
      }
    }
  }
  return null;
}

function headingThreadId(heading) {
  for (const attr of SELECTORS.headingAttrs) {
    const id = threadIdFrom(heading.getAttribute(attr));
    if (id) {
      return id;
    }
  }
  return null;
}

function shown(element) {
  return element.getClientRects().length > 0;
}

/**
 * The thread of the conversation an inline reply sits in: the conversation heading nearest
 * to the reply (climbing from it), never a list row. Several conversations kept in the page
 * at that level: the one shown, else none (better no thread than the wrong one).
 */
function conversationThreadId(root) {
  // Only a compose inside a conversation is about it; one elsewhere on the page is not.
  const area = root.closest(any(SELECTORS.conversationArea));
  if (!area) {
    return null;
  }
  for (let node = area; node; node = node.parentElement) {
    const candidates = [...node.querySelectorAll(any(SELECTORS.conversationHeading))];
    if (node.matches(any(SELECTORS.conversationHeading))) {
      candidates.push(node);
    }
    const headings = candidates.filter((h) => !h.closest(SELECTORS.listRow));
    const ids = [...new Set(headings.map(headingThreadId).filter(Boolean))];
    if (ids.length === 1) {
      return ids[0];
    }
    if (ids.length > 1) {
      const visible = [...new Set(headings.filter(shown).map(headingThreadId).filter(Boolean))];
      return visible.length === 1 ? visible[0] : null;
    }
  }
  return null;
}

/**
 * The Gmail API thread id the compose window replies to, or null for a new message.
 * 1. The compose's own hidden inputs (`lts`, then `rt`): right for inline replies, replies
 *    popped out into a window, and replies to older threads alike.
 * 2. Only for an inline reply without them, and only inside a conversation (its `.ip`,
 *    `td.Bu` or `div.if`): the heading of that conversation. A compose window in the dock is
 *    never inline, whatever roles the page gives it.
 * Never list rows (they stay in the page around the conversation), never the URL (Gmail's
 * hash holds opaque tokens such as #inbox/FMfcgz…, not thread ids), never the thread behind
 * a new-message window.
 */
export function readThreadId(compose) {
  current(compose);
  const own = ownThreadId(compose.root);
  if (own) {
    return own;
  }
  if (compose.kind !== "inline") {
    return null;
  }
  return conversationThreadId(compose.root);
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
