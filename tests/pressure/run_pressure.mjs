// Run the extension's pressure check from Node for the Python tests and bench/pressure.py.
// Reads one JSON request on stdin: {"module": path to pressure.js, "rules": path to the rules
// JSON, "model": path to the classifier artifact (optional: rules alone without it),
// "texts": [..], "options": checkPressure options, "benchRounds": optional number}.
// Writes {"findings": [[...], ...]} (one list per text), with "classify": true every
// sentence's class and integer scores, with "probeErrors": true the errors bad input
// raises, and, when benchRounds > 0, timing figures for the same texts.
import { readFileSync } from "node:fs";

const request = JSON.parse(readFileSync(0, "utf8"));
// Imported from source through a data: URL so it loads as an ES module whatever
// package.json says about the folder.
const source = readFileSync(request.module, "utf8");
const url = `data:text/javascript;base64,${Buffer.from(source).toString("base64")}`;
const { checkPressure, classifySentences, loadRules } = await import(url);

// Serve the two files as the extension's fetch would.
const files = { [request.rules]: readFileSync(request.rules, "utf8") };
if (request.model) {
  files[request.model] = readFileSync(request.model, "utf8");
}
const rules = await loadRules(request.rules, async (path) => ({
  ok: true,
  status: 200,
  json: async () => JSON.parse(files[path]),
}), request.model || null);
const options = request.options || {};

const out = { findings: request.texts.map((text) => checkPressure(text, rules, options)) };
if (request.classify) {
  out.sentences = request.texts.map((text) => classifySentences(text, rules.model));
}

async function errorOf(action) {
  try {
    await action();
  } catch (error) {
    return `${error.name}: ${error.message}`;
  }
  return null;
}

if (request.probeErrors) {
  const respond = (ok, status, body) => async () => ({ ok, status, json: async () => body });
  out.errors = {
    notText: await errorOf(() => checkPressure(42, rules)),
    httpError: await errorOf(() => loadRules("rules.json", respond(false, 404, null))),
    modelHttpError: await errorOf(() => loadRules("x/rules.json", async (path) => (
      path === "x/rules.json" ? { ok: true, status: 200, json: async () => ({ rules: [] }) }
        : { ok: false, status: 404, json: async () => null }))),
    badModel: await errorOf(() => loadRules("rules.json", async (path) => ({
      ok: true, status: 200, json: async () => (path === "rules.json" ? { rules: [] }
        : { classes: ["calm"] }) }))),
    badShape: await errorOf(() => loadRules("rules.json", respond(true, 200, { rules: 3 }))),
    badPattern: await errorOf(() => loadRules("rules.json", respond(true, 200, {
      rules: [{ id: "x", patterns: ["(unclosed"] }],
    }))),
  };
}

const rounds = request.benchRounds || 0;
if (rounds > 0) {
  const tokenise = /\w+/g;
  let started = process.hrtime.bigint();
  let tokens = 0;
  for (let r = 0; r < rounds; r += 1) {
    for (const text of request.texts) {
      tokens += (text.match(tokenise) || []).length;
    }
  }
  out.baselineSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  started = process.hrtime.bigint();
  let found = 0;
  for (let r = 0; r < rounds; r += 1) {
    for (const text of request.texts) {
      found += checkPressure(text, rules, options).length;
    }
  }
  out.seconds = Number(process.hrtime.bigint() - started) / 1e9;
  out.checksum = found + tokens;
}

process.stdout.write(JSON.stringify(out));
