// The inline panel shown next to a compose body: the silence facts, the plays, a get-back
// picker and a live pressure check. The same module runs in the extension (talking to the
// service worker) and on the server's /demo/panel page (talking to the demo endpoints).
// All text reaches the page through textContent; nothing from the server is parsed as HTML.

import { checkPressure } from "./pressure.js";
import { PANEL_CSS } from "./panel_style.js";

const PRESSURE_DELAY_MS = 300;
const RECIPIENT_DELAY_MS = 300;
const SLOT_DELAY_MS = 400;
const RECHECK_MS = [400, 1500];
const MAX_DRAFT_CHARS = 20_000;
// The expanded panel takes at most this share of a compose window's height (Gmail's compose
// window is about 500 px high) and scrolls inside itself, so the body and Send stay in view.
const COMPOSE_SHARE = 0.4;
const INLINE_VIEWPORT_SHARE = 0.5;
const MIN_CONTENT_PX = 120;
const CATEGORY_LABEL = {
  chasing: "Chasing",
  urgency: "Urgency",
  self_focused: "Self-focused",
  pushy: "Pushy",
  assuming_sale: "Assuming the sale",
  guilt: "Guilt or blame",
};

/** Build an element; string/number children become text nodes, never markup. */
function el(doc, tag, attrs = {}, ...children) {
  const node = doc.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) {
      continue;
    }
    if (key === "text") {
      node.textContent = String(value);
    } else if (key === "on") {
      for (const [event, handler] of Object.entries(value)) {
        node.addEventListener(event, handler);
      }
    } else if (key in node && typeof value !== "string") {
      node[key] = value;
    } else {
      node.setAttribute(key, value === true ? "" : String(value));
    }
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) {
      node.append(typeof child === "object" ? child : doc.createTextNode(String(child)));
    }
  }
  return node;
}

let sharedSheet = null;

/**
 * Style the shadow root. A constructed stylesheet is not inline CSS, so pages whose CSP
 * forbids inline styles (the demo page, possibly Gmail one day) still show the panel right.
 */
function applyStyles(doc, shadow) {
  const Sheet = doc.defaultView?.CSSStyleSheet;
  if (Sheet && "adoptedStyleSheets" in shadow && "replaceSync" in Sheet.prototype) {
    try {
      if (!sharedSheet) {
        sharedSheet = new Sheet();
        sharedSheet.replaceSync(PANEL_CSS);
      }
      shadow.adoptedStyleSheets = [sharedSheet];
      return;
    } catch {
      sharedSheet = null; // fall back to a <style> element below
    }
  }
  shadow.prepend(el(doc, "style", { text: PANEL_CSS }));
}

function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

function pad(n) {
  return String(n).padStart(2, "0");
}

/** "YYYY-MM-DDTHH:MM" in the browser's time zone, the value format of datetime-local. */
export function toLocalInput(date) {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(
    date.getHours(),
  )}:${pad(date.getMinutes())}`;
}

/** Read a datetime-local value as a moment in the browser's time zone (null if empty/bad). */
export function fromLocalInput(value) {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(String(value || ""));
  if (!match) {
    return null;
  }
  const [, y, mo, d, h, mi] = match.map(Number);
  const date = new Date(y, mo - 1, d, h, mi, 0, 0);
  return Number.isNaN(date.getTime()) ? null : date;
}

function groupPlays(plays) {
  const groups = new Map();
  for (const play of Array.isArray(plays) ? plays : []) {
    if (!play || typeof play.play !== "string") {
      continue;
    }
    if (!groups.has(play.play)) {
      groups.set(play.play, []);
    }
    groups.get(play.play).push(play);
  }
  return groups;
}

function summaryOf(g) {
  if (!g) {
    return "";
  }
  if (g.nag) {
    const business = g.dayMode !== "calendar";
    const days = business ? g.businessDaysSilent : g.daysSilent;
    if (typeof days === "number") {
      return `quiet for ${days} ${business ? "business " : ""}day${days === 1 ? "" : "s"}`;
    }
    return "went quiet";
  }
  return { reply_owed: "they are waiting for you", scheduled: "get-back scheduled", cold: "in the cold file", live: "conversation open" }[g.state] || "";
}

/**
 * Mount a panel for one compose window. Returns { host, ready, refresh(), destroy() };
 * `ready` resolves once the first guidance (or a one-line problem) is on screen.
 */
export function mountPanel({
  compose,
  adapter,
  transport,
  rules = null,
  surface = "extension",
  locale = globalThis.navigator?.language || "en",
  timezone = Intl.DateTimeFormat().resolvedOptions().timeZone,
  onSignIn = null,
  doc = document,
}) {
  const host = el(doc, "div", { class: "stepback-host" });
  adapter.markPanelHost(host);
  host.dataset.stepbackState = "loading";
  const shadow = host.attachShadow({ mode: "open" });
  const ids = { content: "stepback-content" };

  const summary = el(doc, "span", { class: "summary" });
  const chevron = el(doc, "span", { class: "chev", "aria-hidden": "true", text: "▾" });
  const toggle = el(doc, "button", {
    class: "toggle",
    type: "button",
    "aria-expanded": "false",
    "aria-controls": ids.content,
  }, el(doc, "span", { class: "logo", text: "stepback" }), summary, chevron);
  const status = el(doc, "p", { class: "status", role: "status", "aria-live": "polite" });
  const sentence = el(doc, "p", { class: "line sentence" });
  const warningsArea = el(doc, "div", { class: "warnings-area" });
  const playsArea = el(doc, "div", { class: "plays" });
  const pressureList = el(doc, "ul");
  const pressureNote = el(doc, "p", { class: "line muted pressure-note", text: "Nothing to check yet." });
  const pressure = el(doc, "div", { class: "pressure", "aria-live": "polite", hidden: true },
    el(doc, "h3", { text: "Pressure check" }), pressureNote, pressureList);
  const notice = el(doc, "p", { class: "notice", role: "status", "aria-live": "polite" });
  const content = el(doc, "div", { class: "content", id: ids.content },
    sentence, warningsArea, pressure, playsArea);
  // Folded, the panel is one line (where things stand) plus the one suggested play; status
  // lines and notices show in both states.
  const region = el(doc, "section", { class: "sb", role: "region", "aria-label": "stepback" },
    toggle, status, notice, content);
  shadow.append(region);
  applyStyles(doc, shadow);

  // Gmail's keyboard shortcuts listen on the document; keys typed in the panel are ours.
  for (const type of ["keydown", "keypress", "keyup"]) {
    region.addEventListener(type, (event) => event.stopPropagation());
  }

  let guidance = null;
  let requestKey = "";
  let loadSeq = 0;
  let savedRange = null;
  let destroyed = false;
  let rulesValue = null;
  const cleanups = [];
  let resolveReady;
  const ready = new Promise((resolve) => {
    resolveReady = resolve;
  });

  // ---------------------------------------------------------------- folding

  let folded = true;

  /** How tall the expanded content may be: a share of the compose window (or viewport). */
  function contentLimit() {
    const view = doc.defaultView;
    const viewport = view?.innerHeight || 800;
    if (compose.kind === "inline") {
      return Math.max(MIN_CONTENT_PX, Math.floor(viewport * INLINE_VIEWPORT_SHARE));
    }
    const height = compose.root.getBoundingClientRect().height || viewport;
    const head = toggle.getBoundingClientRect().height || 0;
    return Math.max(MIN_CONTENT_PX, Math.floor(Math.min(height, viewport) * COMPOSE_SHARE - head));
  }

  function showSummary() {
    // Folded, the line says where things stand in full words; expanded, the sentence is
    // right below, so the line keeps to the short form.
    const full = guidance?.sentence || sentence.textContent || "";
    const text = folded && full ? full : summaryOf(guidance);
    summary.textContent = text;
    if (text) {
      summary.setAttribute("title", text);
    } else {
      summary.removeAttribute("title");
    }
  }

  function setFolded(value) {
    folded = value;
    toggle.setAttribute("aria-expanded", String(!folded));
    chevron.textContent = folded ? "▸" : "▾";
    region.dataset.folded = String(folded);
    host.dataset.stepbackFolded = String(folded);
    if (!folded) {
      region.style.setProperty("--sb-max", `${contentLimit()}px`);
    }
    showSummary();
  }
  toggle.addEventListener("click", () => setFolded(!folded));
  setFolded(true);

  // ---------------------------------------------------------------- caret and insert

  const rememberCaret = () => {
    const selection = doc.getSelection();
    if (selection && selection.rangeCount && compose.body.contains(selection.anchorNode)) {
      savedRange = selection.getRangeAt(0).cloneRange();
    }
  };
  doc.addEventListener("selectionchange", rememberCaret);
  cleanups.push(() => doc.removeEventListener("selectionchange", rememberCaret));

  /** Type `text` into the body where the caret was (else at the top), as Gmail's own typing. */
  function insertText(text) {
    const body = compose.body;
    body.focus();
    const selection = doc.getSelection();
    if (savedRange && body.contains(savedRange.startContainer)) {
      selection.removeAllRanges();
      selection.addRange(savedRange);
    } else if (!selection.rangeCount || !body.contains(selection.anchorNode)) {
      const range = doc.createRange();
      range.setStart(body, 0);
      range.collapse(true);
      selection.removeAllRanges();
      selection.addRange(range);
    }
    // execCommand keeps the browser's undo stack (Ctrl+Z) and fires the input events Gmail
    // listens to; it is deprecated but has no replacement for editable content.
    let inserted = false;
    try {
      inserted = doc.execCommand("insertText", false, text);
    } catch {
      inserted = false;
    }
    if (!inserted) {
      const range = selection.getRangeAt(0);
      range.deleteContents();
      const node = doc.createTextNode(text);
      range.insertNode(node);
      range.setStartAfter(node);
      range.collapse(true);
      selection.removeAllRanges();
      selection.addRange(range);
      body.dispatchEvent(new InputEvent("input", { bubbles: true, inputType: "insertText", data: text }));
    }
    rememberCaret();
  }

  function say(text) {
    notice.textContent = text;
  }

  function record(play, variant) {
    // The recipients go along so the server can refuse a thread the draft is not about.
    const recipients = adapter.readRecipients(compose).map((r) => r.email);
    const body = { play, variant, surface, recipients, threadId: guidance?.threadId || undefined };
    Promise.resolve(transport("playInserted", body)).catch(() => {});
  }

  // ---------------------------------------------------------------- guidance

  function requestBody(extra = {}) {
    const recipients = adapter.readRecipients(compose).map((r) => r.email);
    const threadId = adapter.readThreadId(compose);
    const body = { recipients, locale, timezone, ...extra };
    if (threadId) {
      body.threadId = threadId;
    }
    return body;
  }

  function showProblem(result) {
    const kind = result?.problem || "server";
    host.dataset.stepbackState = kind;
    warningsArea.replaceChildren();
    playsArea.replaceChildren();
    sentence.textContent = "";
    region.dataset.tone = "calm";
    status.replaceChildren(result?.message || "stepback could not load its guidance.");
    guidance = null;
    summary.textContent = { unreachable: "offline", signed_out: "signed out" }[kind] || "";
    if (kind === "signed_out" && onSignIn) {
      status.append(" ", el(doc, "button", {
        type: "button",
        text: "Sign in",
        on: {
          click: async () => {
            await Promise.resolve(onSignIn()).catch(() => {});
            refresh(true);
          },
        },
      }));
    }
  }

  async function load(force = false) {
    const body = requestBody();
    const key = JSON.stringify([body.recipients, body.threadId || null]);
    if (!force && key === requestKey) {
      return;
    }
    requestKey = key;
    const seq = ++loadSeq;
    if (!body.recipients.length && !body.threadId) {
      guidance = null;
      host.dataset.stepbackState = "empty";
      status.textContent = "";
      warningsArea.replaceChildren();
      playsArea.replaceChildren();
      region.dataset.tone = "calm";
      sentence.textContent = "Add the prospect as a recipient and stepback shows where things stand.";
      showSummary();
      return;
    }
    host.dataset.stepbackState = "loading";
    let result;
    try {
      result = await transport("guidance", body);
    } catch {
      result = { ok: false, problem: "unreachable", message: "stepback can't reach its server right now; Gmail works as usual." };
    }
    if (destroyed || seq !== loadSeq) {
      return; // a newer request (other recipients) is on its way
    }
    if (!result?.ok) {
      requestKey = ""; // try again on the next change
      showProblem(result);
      return;
    }
    guidance = result.data;
    renderGuidance();
  }

  function renderGuidance() {
    const g = guidance;
    status.textContent = "";
    sentence.textContent = g.sentence || "";
    showSummary();
    region.dataset.tone = g.nag ? "alert" : "calm";
    if (g.nag && Array.isArray(g.warnings) && g.warnings.length) {
      warningsArea.replaceChildren(el(doc, "ul", { class: "warnings", "aria-label": "Warnings" },
        g.warnings.map((w) => el(doc, "li", { "data-code": w.code, text: w.message }))));
    } else {
      warningsArea.replaceChildren();
    }
    const groups = groupPlays(g.plays);
    const parts = [];
    let lead = false;
    for (const [id, variants] of groups) {
      if (id !== "getback_date") {
        // The best fit comes first and starts opened; the others show their title only.
        const node = renderPlay(id, variants, parts.length === 0);
        if (!lead && variants[0].insertable) {
          // The one play the folded panel shows: the best fit that can go into the draft.
          node.classList.add("lead");
          lead = true;
        }
        parts.push(node);
      }
    }
    if (parts.length) {
      parts.unshift(el(doc, "h3", { text: g.nag ? "Next steps without pressure" : "Ideas for this conversation" }));
    }
    if (g.nag && groups.has("getback_date")) {
      parts.push(renderGetback(groups.get("getback_date")));
    }
    playsArea.replaceChildren(...parts);
    host.dataset.stepbackState = "ready";
    host.dataset.stepbackNag = String(Boolean(g.nag));
    resolveReady();
  }

  let detailCount = 0;

  /** A show/hide button for a play's text (aria-expanded, keyboard operable). */
  function disclosure(detail, open, label) {
    detailCount += 1;
    detail.id = `stepback-play-${detailCount}`;
    detail.hidden = !open;
    const button = el(doc, "button", {
      type: "button",
      class: "preview",
      "aria-expanded": String(open),
      "aria-controls": detail.id,
      text: open ? "Hide" : label,
    });
    button.addEventListener("click", () => {
      const show = detail.hidden;
      detail.hidden = !show;
      button.setAttribute("aria-expanded", String(show));
      button.textContent = show ? "Hide" : label;
    });
    return button;
  }

  function renderPlay(id, variants, open) {
    const first = variants[0];
    let index = 0;
    const text = el(doc, "p", { class: "text", text: first.text });
    const detail = el(doc, "div", { class: "detail" }, text);
    const actions = el(doc, "span", { class: "actions" });
    const node = el(doc, "article", { class: "play", "data-play": id },
      el(doc, "div", { class: "head" }, el(doc, "h4", { text: first.title }), actions), detail);
    if (first.channel === "phone") {
      detail.append(el(doc, "p", { class: "muted", text: "Say it on a call; nothing is inserted." }));
      actions.append(disclosure(detail, false, "Show script"));
      return node;
    }
    if (first.channel === "note") {
      // The cold file is a note for the rep, with a revisit date: nothing goes to the prospect.
      if (guidance.revisitAt) {
        const when = new Date(guidance.revisitAt);
        actions.append(el(doc, "button", {
          type: "button",
          class: "park",
          text: `Park until ${when.toLocaleDateString(locale, { dateStyle: "medium" })}`,
          on: { click: () => schedule("cold_file", when, variants[index].text, null) },
        }));
      }
    } else if (first.insertable) {
      actions.append(el(doc, "button", {
        type: "button",
        class: "insert primary",
        "aria-label": `Insert “${first.title}” into the message`,
        text: "Insert",
        on: {
          click: () => {
            const chosen = variants[index];
            insertText(chosen.text);
            record(chosen.play, chosen.variant);
            say(`Inserted “${chosen.title}”. Ctrl+Z takes it out again.`);
          },
        },
      }));
    }
    actions.append(disclosure(detail, open, "Preview"));
    if (variants.length > 1) {
      const other = el(doc, "button", {
        type: "button",
        class: "other",
        "aria-label": `Show another wording of “${first.title}”`,
        text: `Other wording (1/${variants.length})`,
      });
      other.addEventListener("click", () => {
        index = (index + 1) % variants.length;
        text.textContent = variants[index].text;
        other.textContent = `Other wording (${index + 1}/${variants.length})`;
      });
      detail.append(el(doc, "div", { class: "actions" }, other));
    }
    return node;
  }

  // ---------------------------------------------------------------- get-back date

  function renderGetback(variants) {
    let current = variants;
    let index = 0;
    let slotFor = guidance.proposedAt ? new Date(guidance.proposedAt).getTime() : null;
    const initial = guidance.proposedAt ? new Date(guidance.proposedAt) : null;
    const text = el(doc, "p", { class: "text", text: current[0].text });
    // No `min` and no local "in the past" check: the server's clock decides, and says so.
    const input = el(doc, "input", {
      type: "datetime-local",
      class: "when",
      value: initial ? toLocalInput(initial) : "",
      "aria-describedby": "stepback-getback-help",
    });
    const button = el(doc, "button", { type: "button", class: "schedule primary", text: "Insert and schedule" });

    async function refreshSlotText(moment) {
      const result = await Promise.resolve(
        transport("guidance", requestBody({ proposedAt: moment.toISOString() })),
      ).catch(() => null);
      const fresh = result?.ok ? groupPlays(result.data.plays).get("getback_date") : null;
      if (fresh && fresh.length) {
        current = fresh;
        index = Math.min(index, fresh.length - 1);
        text.textContent = current[index].text;
        slotFor = moment.getTime();
      }
      return Boolean(fresh && fresh.length);
    }
    const refreshLater = debounce((moment) => refreshSlotText(moment), SLOT_DELAY_MS);
    input.addEventListener("input", () => {
      const moment = fromLocalInput(input.value);
      if (moment) {
        refreshLater(moment);
      }
    });
    button.addEventListener("click", async () => {
      const moment = fromLocalInput(input.value);
      if (!moment) {
        say("Pick a day and time first.");
        return;
      }
      button.disabled = true;
      try {
        refreshLater.cancel();
        if (slotFor !== moment.getTime()) {
          await refreshSlotText(moment);
        }
        const chosen = slotFor === moment.getTime() ? current[index] : null;
        await schedule("getback", moment, "", chosen);
      } finally {
        button.disabled = false;
      }
    });

    const actions = el(doc, "div", { class: "actions" },
      el(doc, "label", {}, "Get back on", input), button);
    if (current.length > 1) {
      const other = el(doc, "button", {
        type: "button", class: "other", text: "Other wording",
        "aria-label": "Show another wording of the get-back message",
      });
      other.addEventListener("click", () => {
        index = (index + 1) % current.length;
        text.textContent = current[index].text;
      });
      actions.append(other);
    }
    return el(doc, "article", { class: "play getback", "data-play": "getback_date" },
      el(doc, "h4", { text: current[0].title }),
      text,
      el(doc, "p", { class: "muted", id: "stepback-getback-help",
        text: "stepback records the date and stays quiet on this thread until then." }),
      actions);
  }

  /** Record a get-back (or cold-file) date, then put the message into the draft. */
  async function schedule(kind, moment, note, play) {
    const recipients = adapter.readRecipients(compose).map((r) => r.email);
    const body = {
      kind,
      dueAt: moment.toISOString(),
      note: note || "",
      recipients,
    };
    if (guidance?.threadId) {
      body.threadId = guidance.threadId;
    }
    const prospect = guidance?.prospect?.email || recipients[0];
    if (prospect) {
      body.prospectEmail = prospect;
    }
    let result;
    try {
      result = await transport("scheduleGetback", body);
    } catch {
      result = { ok: false, message: "stepback can't reach its server right now; nothing was scheduled." };
    }
    if (!result?.ok) {
      const fieldMessage = result?.fields ? Object.values(result.fields).flat()[0] : "";
      say(fieldMessage || result?.message || "stepback could not record the date.");
      return false;
    }
    const when = moment.toLocaleString(locale, { dateStyle: "full", timeStyle: "short" });
    if (kind === "getback") {
      insertText(play ? play.text : when);
      if (play) {
        record(play.play, play.variant);
      }
      say(`Get-back set for ${when}. stepback stays quiet on this thread until then.`);
    } else {
      say(`Parked in your cold file until ${moment.toLocaleDateString(locale, { dateStyle: "long" })}.`);
    }
    host.dataset.stepbackScheduled = String(result.data?.id ?? "");
    return true;
  }

  // ---------------------------------------------------------------- pressure check

  function renderPressure() {
    if (!rulesValue) {
      return;
    }
    const draft = adapter.draftText(compose).slice(0, MAX_DRAFT_CHARS);
    pressure.hidden = !draft.trim();
    if (!draft.trim()) {
      pressureNote.textContent = "Nothing to check yet.";
      pressureList.replaceChildren();
      host.dataset.stepbackFindings = "0";
      return;
    }
    let findings = [];
    try {
      findings = checkPressure(draft, rulesValue);
    } catch {
      findings = [];
    }
    host.dataset.stepbackFindings = String(findings.length);
    pressureNote.textContent = findings.length
      ? `${findings.length} phrase${findings.length === 1 ? "" : "s"} may add pressure:`
      : "No pressure phrases found in your draft.";
    pressureList.replaceChildren(...findings.map((f) => el(doc, "li", { "data-rule": f.ruleId },
      el(doc, "span", { class: "phrase", text: `“${f.text}”` }),
      ` ${CATEGORY_LABEL[f.category] || f.category}: ${f.why} `,
      el(doc, "span", { class: "muted", text: `Try: ${f.suggestion}` }))));
  }
  const pressureLater = debounce(renderPressure, PRESSURE_DELAY_MS);
  compose.body.addEventListener("input", pressureLater);
  cleanups.push(() => {
    compose.body.removeEventListener("input", pressureLater);
    pressureLater.cancel();
  });
  Promise.resolve(rules)
    .then((value) => {
      rulesValue = value;
      renderPressure();
    })
    .catch(() => {
      pressure.hidden = false;
      pressureNote.textContent = "The pressure check could not load its rules.";
    });

  // ---------------------------------------------------------------- recipients

  const recipientsChanged = debounce(() => load(false), RECIPIENT_DELAY_MS);
  const observer = new MutationObserver((mutations) => {
    for (const m of mutations) {
      if (!compose.body.contains(m.target) && !host.contains(m.target) && m.target !== host) {
        recipientsChanged();
        return;
      }
    }
  });
  observer.observe(compose.root, { childList: true, subtree: true, attributes: true,
    attributeFilter: ["data-hovercard-id", "email", "value"] });
  cleanups.push(() => {
    observer.disconnect();
    recipientsChanged.cancel();
  });

  // ---------------------------------------------------------------- mount

  const anchor = adapter.panelAnchor(compose);
  anchor.parent.insertBefore(host, anchor.before);
  const first = load(true).catch(() => {});
  first.finally(() => resolveReady());
  // Gmail may fill a reply's hidden thread inputs just after the body appears; look again
  // (no request is made when nothing changed).
  for (const ms of RECHECK_MS) {
    const timer = setTimeout(() => load(false).catch(() => {}), ms);
    cleanups.push(() => clearTimeout(timer));
  }

  function refresh(force = true) {
    return load(force);
  }

  function destroy() {
    destroyed = true;
    for (const fn of cleanups) {
      fn();
    }
    host.remove();
  }

  return { host, ready, refresh, destroy };
}
