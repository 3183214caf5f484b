// Calls to the stepback JSON API (service worker only). Only the operations listed here can
// be asked for by the content script, so a compromised page cannot make us call anything else.

export const OPERATIONS = Object.freeze({
  me: { method: "GET", path: "/api/v1/me" },
  guidance: { method: "POST", path: "/api/v1/guidance" },
  playInserted: { method: "POST", path: "/api/v1/plays/inserted" },
  scheduleGetback: { method: "POST", path: "/api/v1/getbacks" },
  // The toolbar popup: the rep's day, and moving or closing a due get-back.
  day: { method: "GET", path: "/api/v1/day", query: ["silentLimit"] },
  moveGetback: { method: "PATCH", path: "/api/v1/getbacks/{id}" },
  closeGetback: { method: "DELETE", path: "/api/v1/getbacks/{id}" },
});
const MAX_ID = 2 ** 31 - 1;

export const MESSAGES = Object.freeze({
  unreachable: "stepback can't reach its server right now; Gmail works as usual.",
  signed_out: "Sign in to stepback (extension options) to see guidance here.",
  rate_limited: "stepback is busy; it will try again in a moment.",
  server: "stepback's server had a problem; Gmail works as usual.",
});

const TIMEOUT_MS = 10_000;

function problem(kind, status, message, fields) {
  return { ok: false, problem: kind, status, message: message || MESSAGES[kind] || "", fields };
}

async function readJson(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

/**
 * The path (with `{id}` filled in from body.id, and allowed query keys) and the body left to
 * send; null when the id is not a database id.
 */
function requestPath(spec, body) {
  let path = spec.path;
  let rest = body;
  if (path.includes("{id}")) {
    const id = Number(body?.id);
    if (!Number.isInteger(id) || id < 1 || id > MAX_ID) {
      return null;
    }
    path = path.replace("{id}", String(id));
    rest = { ...body };
    delete rest.id;
  }
  if (spec.query && body) {
    const params = new URLSearchParams();
    for (const key of spec.query) {
      if (body[key] !== undefined && body[key] !== null) {
        params.set(key, String(body[key]));
      }
    }
    const text = params.toString();
    path = text ? `${path}?${text}` : path;
  }
  return { path, body: rest };
}

/**
 * Call one API operation. Resolves (never rejects) with
 * { ok: true, status, data } or { ok: false, problem, status, message, fields? }.
 */
export async function callApi(op, body, { backend, token, fetchImpl = fetch, timeoutMs = TIMEOUT_MS }) {
  const spec = OPERATIONS[op];
  if (!spec) {
    return problem("invalid", 0, `Unknown operation: ${String(op).slice(0, 40)}`);
  }
  if (!token) {
    return problem("signed_out", 401);
  }
  const target = requestPath(spec, body);
  if (!target) {
    return problem("invalid", 0, "That get-back id is not valid.");
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const init = {
    method: spec.method,
    headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
    signal: controller.signal,
    credentials: "omit",
    cache: "no-store",
  };
  if (spec.method === "POST" || spec.method === "PATCH") {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(target.body ?? {});
  }
  let response;
  try {
    response = await fetchImpl(`${backend}${target.path}`, init);
  } catch {
    return problem("unreachable", 0);
  } finally {
    clearTimeout(timer);
  }
  const data = await readJson(response);
  if (response.ok) {
    return { ok: true, status: response.status, data };
  }
  const error = data && typeof data.error === "object" ? data.error : {};
  const message = typeof error.message === "string" ? error.message : "";
  switch (response.status) {
    case 401:
      // The rep needs to sign in again; the server's reason goes along for the options page.
      return { ...problem("signed_out", 401), detail: message };
    case 403:
      return problem("forbidden", 403, message || "This Google account is not set up in stepback.");
    case 422:
    case 400:
      return problem("invalid", response.status, message || "stepback did not accept that.", error.fields);
    case 429:
      return problem("rate_limited", 429);
    default:
      // A proxy's error page or a server that is starting: the same as unreachable for the rep.
      if (!data || response.status === 502 || response.status === 504) {
        return problem("unreachable", response.status);
      }
      return problem("server", response.status, message || MESSAGES.server);
  }
}
