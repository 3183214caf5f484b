// Pressure check for drafts, the browser twin of server/engine/pressure.py.
// Both read the same rules file (extension/shared/pressure_rules.json is a byte-identical
// copy of server/engine/pressure_rules.json), so they report the same findings.
// The draft is only read, never stored or sent anywhere.
//
// Each finding has `start`/`end` as code point offsets (equal to the Python offsets) and
// `jsStart`/`jsEnd` as UTF-16 offsets for use with DOM ranges and String.slice.

const compiledCache = new WeakMap();

function fail(message) {
  throw new Error(`pressure rules: ${message}`);
}

function compileRules(rules) {
  const cached = compiledCache.get(rules);
  if (cached) {
    return cached;
  }
  if (!rules || typeof rules !== "object" || !Array.isArray(rules.rules)) {
    fail("expected an object with a 'rules' list");
  }
  const normalise = new Map();
  for (const [target, sources] of Object.entries(rules.normalise || {})) {
    for (const source of sources) {
      normalise.set(source, target);
    }
  }
  const compiled = {
    normalise,
    rules: rules.rules.map((rule) => {
      if (!rule || typeof rule.id !== "string" || !Array.isArray(rule.patterns)) {
        fail("every rule needs an 'id' and a 'patterns' list");
      }
      // "gi" without "u": ASCII word boundaries and ASCII-only case folding, like
      // Python's re.IGNORECASE | re.ASCII.
      return { rule, patterns: rule.patterns.map((source) => new RegExp(source, "gi")) };
    }),
  };
  compiledCache.set(rules, compiled);
  return compiled;
}

function normaliseText(text, table) {
  if (table.size === 0) {
    return text;
  }
  let out = "";
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i];
    out += table.get(ch) ?? ch;
  }
  return out;
}

// Map UTF-16 offsets to code point offsets (identity when the text has no surrogate pairs).
function codePointCounter(text) {
  if (!/[\uD800-\uDFFF]/.test(text)) {
    return (index) => index;
  }
  const prefix = new Uint32Array(text.length + 1);
  let points = 0;
  let i = 0;
  while (i < text.length) {
    prefix[i] = points;
    const unit = text.charCodeAt(i);
    const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
    if (unit >= 0xd800 && unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      prefix[i + 1] = points; // inside a pair: same code point
      i += 2;
    } else {
      i += 1;
    }
    points += 1;
  }
  prefix[text.length] = points;
  return (index) => prefix[index];
}

export function checkPressure(text, rules) {
  if (typeof text !== "string") {
    throw new TypeError("checkPressure expects the draft as a string");
  }
  const compiled = compileRules(rules);
  const subject = normaliseText(text, compiled.normalise);
  const candidates = [];
  compiled.rules.forEach(({ rule, patterns }, ruleIndex) => {
    patterns.forEach((pattern, patternIndex) => {
      pattern.lastIndex = 0;
      let match = pattern.exec(subject);
      while (match !== null) {
        const length = match[0].length;
        if (length > 0) {
          candidates.push({ start: match.index, end: match.index + length, ruleIndex,
            patternIndex, rule });
        } else {
          pattern.lastIndex += 1;
        }
        match = pattern.exec(subject);
      }
    });
  });
  // Earliest first, then longest, then rule order. A later match that overlaps a kept one
  // extends it when it comes from the same rule and is dropped otherwise.
  candidates.sort((a, b) => a.start - b.start || b.end - a.end || a.ruleIndex - b.ruleIndex
    || a.patternIndex - b.patternIndex);
  const spans = [];
  for (const { start, end, rule } of candidates) {
    const last = spans[spans.length - 1];
    if (last && start < last.end) {
      if (last.rule === rule && end > last.end) {
        last.end = end;
      }
    } else {
      spans.push({ start, end, rule });
    }
  }
  const toPoints = codePointCounter(text);
  return spans.map(({ start, end, rule }) => ({
    ruleId: rule.id,
    category: rule.category,
    start: toPoints(start),
    end: toPoints(end),
    text: text.slice(start, end),
    why: rule.why,
    suggestion: rule.suggestion,
    jsStart: start,
    jsEnd: end,
  }));
}

export async function loadRules(url, fetchImpl = globalThis.fetch) {
  const response = await fetchImpl(url);
  if (!response.ok) {
    throw new Error(`could not load pressure rules from ${url}: HTTP ${response.status}`);
  }
  const rules = await response.json();
  compileRules(rules);
  return rules;
}
