// Unit tests of the service worker's API client and settings (plain logic, run by node --test).
import assert from "node:assert/strict";
import { test } from "node:test";

import { callApi, MESSAGES } from "../../../extension/src/api.js";
import {
  DEFAULT_BACKEND,
  isBuiltInBackend,
  normaliseBackend,
  originPattern,
} from "../../../extension/src/settings.js";

function answer(status, body) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return async (url, init) => {
    answer.last = { url, init };
    return new Response(text, { status, headers: { "Content-Type": "application/json" } });
  };
}

const base = { backend: "http://127.0.0.1:5000", token: "tok" };

test("a successful call sends the bearer token and JSON, and returns the data", async () => {
  const result = await callApi("guidance", { recipients: ["a@b.example"] }, {
    ...base, fetchImpl: answer(200, { state: "live" }),
  });
  assert.deepEqual(result, { ok: true, status: 200, data: { state: "live" } });
  assert.equal(answer.last.url, "http://127.0.0.1:5000/api/v1/guidance");
  assert.equal(answer.last.init.method, "POST");
  assert.equal(answer.last.init.headers.Authorization, "Bearer tok");
  assert.equal(answer.last.init.credentials, "omit");
  assert.deepEqual(JSON.parse(answer.last.init.body), { recipients: ["a@b.example"] });
});

test("GET calls carry no body", async () => {
  await callApi("me", null, { ...base, fetchImpl: answer(200, {}) });
  assert.equal(answer.last.init.method, "GET");
  assert.equal(answer.last.init.body, undefined);
});

test("unknown operations and missing tokens never reach the network", async () => {
  let called = false;
  const fetchImpl = async () => {
    called = true;
  };
  const unknown = await callApi("deleteEverything", {}, { ...base, fetchImpl });
  assert.equal(unknown.problem, "invalid");
  const signedOut = await callApi("guidance", {}, { ...base, token: null, fetchImpl });
  assert.deepEqual([signedOut.problem, signedOut.message], ["signed_out", MESSAGES.signed_out]);
  assert.equal(called, false);
});

test("errors map to one-line problems the panel can show", async () => {
  const cases = [
    [401, { error: { code: 401, message: "The token has expired; sign in again." } }, "signed_out"],
    [403, { error: { code: 403, message: "Not set up." } }, "forbidden"],
    [422, { error: { code: 422, message: "Some fields are invalid.", fields: { dueAt: ["past"] } } }, "invalid"],
    [429, { error: { code: 429, message: "Too many" } }, "rate_limited"],
    [500, { error: { code: 500, message: "Boom" } }, "server"],
    [502, "<html>bad gateway</html>", "unreachable"],
  ];
  for (const [status, body, kind] of cases) {
    const result = await callApi("guidance", {}, { ...base, fetchImpl: answer(status, body) });
    assert.equal(result.ok, false);
    assert.equal(result.problem, kind, `HTTP ${status}`);
    assert.equal(result.status, status);
    assert.ok(result.message && !result.message.includes("\n"));
  }
  const invalid = await callApi("scheduleGetback", {}, {
    ...base, fetchImpl: answer(422, { error: { message: "x", fields: { dueAt: ["past"] } } }),
  });
  assert.deepEqual(invalid.fields, { dueAt: ["past"] });
  const expired = await callApi("guidance", {}, {
    ...base, fetchImpl: answer(401, { error: { message: "The token has expired; sign in again." } }),
  });
  assert.equal(expired.message, MESSAGES.signed_out);
  assert.equal(expired.detail, "The token has expired; sign in again.");
});

test("a refused connection or a timeout reads as unreachable", async () => {
  const refused = await callApi("guidance", {}, {
    ...base, fetchImpl: async () => { throw new TypeError("Failed to fetch"); },
  });
  assert.deepEqual([refused.problem, refused.message], ["unreachable", MESSAGES.unreachable]);
  const slow = await callApi("guidance", {}, {
    ...base,
    timeoutMs: 20,
    fetchImpl: (url, init) => new Promise((_, reject) => {
      init.signal.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
    }),
  });
  assert.equal(slow.problem, "unreachable");
});

test("backend addresses: https anywhere, plain http only on loopback", () => {
  assert.equal(normaliseBackend(""), DEFAULT_BACKEND);
  assert.equal(normaliseBackend(" https://stepback.example.com/ "), "https://stepback.example.com");
  assert.equal(normaliseBackend("https://x.example/prefix//"), "https://x.example/prefix");
  assert.equal(normaliseBackend("http://localhost:8080"), "http://localhost:8080");
  for (const bad of ["http://stepback.example.com", "ftp://x.example", "not a url",
    "https://user:pw@x.example", "https://x.example/?a=1", "javascript:alert(1)"]) {
    assert.throws(() => normaliseBackend(bad), Error, bad);
  }
  assert.equal(originPattern("http://127.0.0.1:5000"), "http://127.0.0.1/*");
  assert.equal(originPattern("https://x.example:8443/p"), "https://x.example/*");
  assert.equal(isBuiltInBackend("http://127.0.0.1:61234"), true);
  assert.equal(isBuiltInBackend("https://x.example"), false);
});
