// The toolbar popup's content: the rep's day (get-backs due, replies owed, who went quiet).
// Used by the extension's popup and by the server's /demo/popup page, so both show the same.
// Every piece of data goes in with textContent or as an attribute value, never as markup.

import { MESSAGES } from "../src/api.js";
import { threadUrl } from "../src/gmail_adapter.js";

const SECTIONS = [
  { key: "due", title: "Get-backs due" },
  { key: "replyOwed", title: "Replies you owe" },
  { key: "silent", title: "Gone quiet" },
];
const ALL_SILENT = 50;

function el(doc, tag, { text, attrs = {}, on = {} } = {}, children = []) {
  const node = doc.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null && value !== false) {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
  if (text !== undefined) {
    node.textContent = String(text);
  }
  for (const [type, handler] of Object.entries(on)) {
    node.addEventListener(type, handler);
  }
  node.append(...children);
  return node;
}

function plural(count, word, many = `${word}s`) {
  return `${count} ${count === 1 ? word : many}`;
}

/** "2 get-backs due · 1 reply waiting · 4 gone quiet", or the calm empty line. */
export function summaryLine(counts) {
  const parts = [];
  if (counts.due) {
    parts.push(`${plural(counts.due, "get-back")} due`);
  }
  if (counts.replyOwed) {
    parts.push(`${plural(counts.replyOwed, "reply", "replies")} waiting`);
  }
  if (counts.silent) {
    parts.push(`${counts.silent} gone quiet`);
  }
  return parts.length ? parts.join(" · ") : "Nothing is due and nobody is waiting on you.";
}

function personName(prospect) {
  if (!prospect) {
    return "A prospect";
  }
  const name = String(prospect.name || "").trim();
  return name && name.toLowerCase() !== String(prospect.email).toLowerCase() ? name : prospect.email;
}

/** Local YYYY-MM-DD of a Date (for the date picker's value and minimum). */
function isoDay(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** The picked local day at the agreed local time of day, as UTC ISO 8601. */
export function pickedDueAt(dayValue, agreedIso) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(dayValue || ""));
  if (!match) {
    return null;
  }
  const agreed = new Date(agreedIso);
  const hours = Number.isNaN(agreed.getTime()) ? 10 : agreed.getHours();
  const minutes = Number.isNaN(agreed.getTime()) ? 0 : agreed.getMinutes();
  const at = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]), hours, minutes);
  return Number.isNaN(at.getTime()) ? null : at.toISOString();
}

function getbackControls(doc, item, now, actions, say) {
  const gb = item.getback;
  const busy = (on) => {
    for (const button of controls.querySelectorAll("button, input")) {
      button.disabled = on;
    }
  };
  const run = async (work, done) => {
    busy(true);
    const result = await work();
    if (result?.ok) {
      say(done(result.data));
      await actions.refresh();
    } else {
      busy(false);
      say(result?.message || "stepback could not change that get-back.");
    }
  };
  const when = (data) => new Date(data.dueAt).toLocaleString(undefined, {
    weekday: "short", month: "short", day: "numeric", hour: "numeric", minute: "2-digit",
  });
  // The server's clock decides what is "in the future" (it may be a demo's or a test's).
  const tomorrow = Number.isNaN(new Date(now).getTime()) ? new Date() : new Date(now);
  tomorrow.setDate(tomorrow.getDate() + 1);
  const dateInput = el(doc, "input", {
    attrs: { type: "date", min: isoDay(tomorrow), "aria-label": "New date", required: true },
  });
  const picker = el(doc, "form", {
    attrs: { class: "picker", hidden: true },
    on: {
      submit: (event) => {
        event.preventDefault();
        const dueAt = pickedDueAt(dateInput.value, gb.dueAt);
        if (!dueAt) {
          say("Pick a day first.");
          return;
        }
        run(() => actions.move(gb.id, dueAt), (data) => `Moved to ${when(data)}.`);
      },
    },
  }, [dateInput, el(doc, "button", { text: "Move", attrs: { type: "submit" } })]);
  const controls = el(doc, "div", { attrs: { class: "actions" } }, [
    el(doc, "button", {
      text: "A week later",
      attrs: { type: "button", "data-action": "week" },
      on: { click: () => run(() => actions.move(gb.id, item.weekLater), (d) => `Moved to ${when(d)}.`) },
    }),
    el(doc, "button", {
      text: "Pick a date",
      attrs: { type: "button", "data-action": "pick", "aria-expanded": "false" },
      on: {
        click: (event) => {
          picker.hidden = !picker.hidden;
          event.currentTarget.setAttribute("aria-expanded", String(!picker.hidden));
          if (!picker.hidden) {
            dateInput.focus();
          }
        },
      },
    }),
    el(doc, "button", {
      text: "Close",
      attrs: {
        type: "button",
        "data-action": "close",
        title: "Done with this get-back: stepback stops listing it",
      },
      on: { click: () => run(() => actions.close(gb.id), () => "Closed.") },
    }),
  ]);
  return [controls, picker];
}

function itemNode(doc, item, day, actions, say) {
  const url = threadUrl(day.email, item.threadId);
  const who = el(doc, "div", { attrs: { class: "who" } }, [
    el(doc, "span", { text: personName(item.prospect), attrs: { class: "name", title: item.prospect?.email } }),
  ]);
  if (item.subject) {
    who.append(el(doc, "span", { text: item.subject, attrs: { class: "subject" } }));
  }
  const children = [
    who,
    el(doc, "div", { text: item.detail, attrs: { class: "detail" } }),
    el(doc, "p", { text: item.sentence, attrs: { class: "sentence" } }),
  ];
  if (item.getback?.note) {
    children.push(el(doc, "p", { text: item.getback.note, attrs: { class: "note" } }));
  }
  const links = el(doc, "div", { attrs: { class: "links" } });
  if (url) {
    links.append(el(doc, "a", {
      text: "Open in Gmail",
      attrs: { class: "open", href: url, target: "_blank", rel: "noopener noreferrer" },
    }));
  }
  children.push(links);
  if (item.kind === "due" && item.getback) {
    children.push(...getbackControls(doc, item, day.now, actions, say));
  }
  return el(doc, "li", {
    attrs: { class: "item", "data-kind": item.kind, "data-thread-id": item.threadId },
  }, children);
}

/**
 * Render one answer of the "day" operation (or a problem) into `root`.
 * `actions`: { move(id, dueAt), close(id), refresh(), showAll(), openOptions? } → promises.
 */
export function renderDay(root, result, actions) {
  const doc = root.ownerDocument;
  const status = el(doc, "p", { attrs: { class: "status", role: "status", "aria-live": "polite" } });
  const say = (text) => {
    status.textContent = text;
  };
  const keep = root.querySelector(".status")?.textContent || "";
  const header = el(doc, "header", {}, [el(doc, "h1", { text: "stepback" })]);
  if (!result?.ok) {
    const kind = result?.problem || "server";
    root.dataset.state = kind;
    const line = kind === "signed_out" || kind === "unreachable"
      ? MESSAGES[kind]
      : result?.message || MESSAGES.server;
    const body = [el(doc, "p", { text: line, attrs: { class: "problem" } })];
    if (kind === "signed_out" && actions.openOptions) {
      body.push(el(doc, "button", {
        text: "Open options",
        attrs: { type: "button", "data-action": "options" },
        on: { click: () => actions.openOptions() },
      }));
    }
    root.replaceChildren(header, ...body);
    return;
  }
  const day = result.data;
  root.dataset.state = "ready";
  header.append(el(doc, "p", { text: summaryLine(day.counts), attrs: { class: "summary" } }));
  const parts = [header];
  for (const section of SECTIONS) {
    const items = day[section.key] || [];
    if (!items.length) {
      continue;
    }
    const list = el(doc, "ul", {}, items.map((item) => itemNode(doc, item, day, actions, say)));
    const node = el(doc, "section", { attrs: { "data-section": section.key } }, [
      el(doc, "h2", { text: section.title }),
      list,
    ]);
    if (section.key === "silent" && day.counts.silent > items.length) {
      node.append(el(doc, "button", {
        text: `All ${day.counts.silent}`,
        attrs: { type: "button", "data-action": "all", class: "all" },
        on: { click: () => actions.showAll(ALL_SILENT) },
      }));
    }
    parts.push(node);
  }
  if (parts.length === 1) {
    parts.push(el(doc, "p", { text: "Nothing to chase today.", attrs: { class: "calm" } }));
  }
  status.textContent = keep;
  parts.push(status);
  root.replaceChildren(...parts);
}
