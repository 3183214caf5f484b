// Pressure check for drafts, the browser twin of server/engine/pressure.py and
// server/engine/pressure_model.py. Both read the same rules file and the same classifier
// artifact (extension/shared/pressure_rules.json and pressure_model.json are byte-identical
// copies of the files in server/engine/), so they report the same findings: the rules mark
// exact phrases, the classifier flags whole sentences no rule touches.
// The draft is only read, never stored or sent anywhere: the check runs here, locally.
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

// ---------------------------------------------------------------- sentence classifier

const BOUNDARY = /[.!?]+(?![^ \t\r\n\f\v])|\n/g;
const SPACE = " \t\r\n\f\v";
const TOKEN = /[a-z0-9]+(?:'[a-z]+)*/g;
const CALM = "calm";

function compileModel(data) {
  if (!data || typeof data !== "object" || !Array.isArray(data.classes)
      || !data.classes.includes(CALM) || !Array.isArray(data.bias)
      || data.bias.length !== data.classes.length || !Number.isInteger(data.threshold)
      || !Array.isArray(data.chars) || !data.weights || typeof data.weights !== "object"
      || !data.categories || !data.normalise) {
    throw new Error("pressure model: expected classes, bias, threshold, chars, weights, "
      + "categories and normalise");
  }
  const normalise = new Map();
  for (const [target, sources] of Object.entries(data.normalise)) {
    for (const source of sources) {
      normalise.set(source, target);
    }
  }
  return {
    classes: data.classes,
    calm: data.classes.indexOf(CALM),
    bias: data.bias,
    threshold: data.threshold,
    low: data.chars[0],
    high: data.chars[1],
    weights: new Map(Object.entries(data.weights)),
    categories: data.categories,
    normalise,
  };
}

// ASCII-only case folding and digits folded to 0, exactly as the Python side does.
function fold(text) {
  return text.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32))
    .replace(/[1-9]/g, "0");
}

function sentenceFeatures(sentence, low, high) {
  const words = fold(sentence).match(TOKEN) || [];
  const feats = new Set();
  for (const w of words) {
    feats.add(`=${w}`);
  }
  for (let i = 0; i + 1 < words.length; i += 1) {
    feats.add(`=${words[i]}+${words[i + 1]}`);
  }
  const padded = ` ${words.join(" ")} `;
  for (let n = low; n <= high; n += 1) {
    for (let i = 0; i + n <= padded.length; i += 1) {
      feats.add(padded.slice(i, i + n));
    }
  }
  return feats;
}

function sentenceSpans(subject) {
  const spans = [];
  let start = 0;
  BOUNDARY.lastIndex = 0;
  let match = BOUNDARY.exec(subject);
  while (match !== null) {
    const end = match.index + match[0].length;
    spans.push([start, end]);
    start = end;
    match = BOUNDARY.exec(subject);
  }
  spans.push([start, subject.length]);
  const out = [];
  for (let [a, b] of spans) {
    while (a < b && SPACE.includes(subject[a])) {
      a += 1;
    }
    while (b > a && SPACE.includes(subject[b - 1])) {
      b -= 1;
    }
    if (a < b) {
      out.push([a, b]);
    }
  }
  return out;
}

function scoreSentence(model, sentence) {
  const scores = model.bias.slice();
  for (const f of sentenceFeatures(normaliseText(sentence, model.normalise), model.low,
    model.high)) {
    const row = model.weights.get(f);
    if (row !== undefined) {
      for (let c = 0; c < scores.length; c += 1) {
        scores[c] += row[c];
      }
    }
  }
  return scores;
}

/** Classify each sentence: [{jsStart, jsEnd, category, margin, scores}] (UTF-16 offsets). */
export function classifySentences(text, model) {
  const subject = normaliseText(text, model.normalise);
  return sentenceSpans(subject).map(([start, end]) => {
    const scores = scoreSentence(model, text.slice(start, end));
    let best = -1;
    for (let i = 0; i < scores.length; i += 1) {
      if (i !== model.calm && (best < 0 || scores[i] > scores[best])) {
        best = i;
      }
    }
    const margin = scores[best] - scores[model.calm];
    const category = margin >= model.threshold ? model.classes[best] : CALM;
    return { jsStart: start, jsEnd: end, category, margin, scores };
  });
}

// ---------------------------------------------------------------- the check

/**
 * Findings for a draft. `rules` is what loadRules returns; when it carries a classifier
 * (`rules.model`), sentences no rule touches are classified too. `options.useRules` and
 * `options.useModel` switch either part off.
 */
export function checkPressure(text, rules, options = {}) {
  if (typeof text !== "string") {
    throw new TypeError("checkPressure expects the draft as a string");
  }
  const found = options.useRules === false ? [] : ruleFindings(text, rules);
  const model = options.useModel === false ? null : rules && rules.model;
  if (!model) {
    return found;
  }
  const toPoints = codePointCounter(text);
  const extra = [];
  for (const s of classifySentences(text, model)) {
    if (s.category === CALM || found.some((f) => f.jsStart < s.jsEnd && s.jsStart < f.jsEnd)) {
      continue;
    }
    const info = model.categories[s.category];
    extra.push({
      ruleId: `model.${s.category}`,
      category: s.category,
      start: toPoints(s.jsStart),
      end: toPoints(s.jsEnd),
      text: text.slice(s.jsStart, s.jsEnd),
      why: info.why,
      suggestion: info.suggestion,
      jsStart: s.jsStart,
      jsEnd: s.jsEnd,
    });
  }
  return extra.length ? found.concat(extra).sort((a, b) => a.start - b.start) : found;
}

function ruleFindings(text, rules) {
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

async function fetchJson(url, what, fetchImpl) {
  const response = await fetchImpl(url);
  if (!response.ok) {
    throw new Error(`could not load pressure ${what} from ${url}: HTTP ${response.status}`);
  }
  return response.json();
}

/**
 * Load the rules and, beside them, the classifier: `modelUrl` defaults to
 * pressure_model.json in the rules file's folder; pass null for the rules alone.
 */
export async function loadRules(url, fetchImpl = globalThis.fetch,
  modelUrl = url.replace(/[^/]*$/, "pressure_model.json")) {
  const rules = await fetchJson(url, "rules", fetchImpl);
  compileRules(rules);
  if (modelUrl !== null) {
    const modelData = await fetchJson(modelUrl, "model", fetchImpl);
    // Not enumerable, so the rules object still serialises as the rules file.
    Object.defineProperty(rules, "model", { value: compileModel(modelData) });
  }
  return rules;
}
