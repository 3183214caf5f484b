// Unit tests of the toolbar popup's plain logic: the Gmail thread link, the API client's
// id and query handling, the summary line and the picked date (run by node --test).
import assert from "node:assert/strict";
import { test } from "node:test";

import { callApi } from "../../../extension/src/api.js";
import { threadUrl } from "../../../extension/src/gmail_adapter.js";
import { pickedDueAt, summaryLine } from "../../../extension/popup/day_view.js";

function answer(status, body) {
  return async (url, init) => {
    answer.last = { url, init };
    return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  };
}

const base = { backend: "http://127.0.0.1:5000", token: "tok" };

test("a thread link opens All Mail at the API's hex thread id, in the rep's account", () => {
  assert.equal(
    threadUrl("alex@northwind-demo.com", "1A1EEF3806F85FCA"),
    "https://mail.google.com/mail/u/0/?authuser=alex%40northwind-demo.com#all/1a1eef3806f85fca",
  );
  // No usable account: Gmail's default account rather than a broken address.
  assert.equal(threadUrl("", "1a1eef3806f85fca"), "https://mail.google.com/mail/u/0/#all/1a1eef3806f85fca");
  for (const bad of ["", null, "t-silent", "1a1e/../x", "javascript:alert(1)", "1a1eef3806f85fca#x"]) {
    assert.equal(threadUrl("alex@northwind-demo.com", bad), null, String(bad));
  }
});

test("moving a get-back puts its id in the path and sends the rest as JSON", async () => {
  await callApi("moveGetback", { id: 42, dueAt: "2026-12-08T15:00:00Z" }, { ...base, fetchImpl: answer(200, {}) });
  assert.equal(answer.last.url, "http://127.0.0.1:5000/api/v1/getbacks/42");
  assert.equal(answer.last.init.method, "PATCH");
  assert.deepEqual(JSON.parse(answer.last.init.body), { dueAt: "2026-12-08T15:00:00Z" });
  await callApi("closeGetback", { id: 42 }, { ...base, fetchImpl: answer(200, {}) });
  assert.equal(answer.last.init.method, "DELETE");
  assert.equal(answer.last.init.body, undefined);
});

test("a get-back id that is not a database id is refused before any request", async () => {
  for (const id of [0, -1, 1.5, "42/../../me", 2 ** 31, undefined]) {
    answer.last = null;
    const result = await callApi("closeGetback", { id }, { ...base, fetchImpl: answer(200, {}) });
    assert.equal(result.ok, false);
    assert.equal(result.problem, "invalid");
    assert.equal(answer.last, null, String(id));
  }
});

test("the day is asked for with only its known query keys", async () => {
  await callApi("day", { silentLimit: 50, other: "x" }, { ...base, fetchImpl: answer(200, {}) });
  assert.equal(answer.last.url, "http://127.0.0.1:5000/api/v1/day?silentLimit=50");
  assert.equal(answer.last.init.method, "GET");
  await callApi("day", null, { ...base, fetchImpl: answer(200, {}) });
  assert.equal(answer.last.url, "http://127.0.0.1:5000/api/v1/day");
});

test("the summary line counts calmly, and says so when there is nothing", () => {
  assert.equal(summaryLine({ due: 2, replyOwed: 1, silent: 4 }), "2 get-backs due · 1 reply waiting · 4 gone quiet");
  assert.equal(summaryLine({ due: 1, replyOwed: 0, silent: 0 }), "1 get-back due");
  assert.equal(summaryLine({ due: 0, replyOwed: 0, silent: 0 }), "Nothing is due and nobody is waiting on you.");
});

test("a picked day keeps the agreed local time of day", () => {
  const agreed = new Date(2026, 10, 20, 9, 30).toISOString();
  assert.equal(pickedDueAt("2026-12-03", agreed), new Date(2026, 11, 3, 9, 30).toISOString());
  assert.equal(pickedDueAt("", agreed), null);
  assert.equal(pickedDueAt("03/12/2026", agreed), null);
});
