// The API client of every page: bearer token, silent refresh, and the server's error words.
//
// The session (access token, refresh token, user) lives in sessionStorage: one per browser tab, kept
// across page navigation, gone when the tab closes. Refresh tokens may rotate: whatever refresh
// token a refresh answers with replaces the old one; an answer without one keeps the old one.

const KEY = "hotline.session";
const REFRESH_MARGIN_MS = 60_000; // refresh this long before the access token expires
let refreshing = null;
let refreshTimer = null;

export class ApiError extends Error {
  constructor(status, detail, body) {
    super(detail);
    this.status = status;
    this.detail = detail;
    this.body = body;
  }
}

export function currentSession() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) || "null");
  } catch {
    return null;
  }
}

function saveSession(tokens, previous) {
  const session = {
    access_token: tokens.access_token,
    expires_at: tokens.expires_at,
    refresh_token: tokens.refresh_token || (previous && previous.refresh_token) || null,
    refresh_expires_at: tokens.refresh_expires_at || (previous && previous.refresh_expires_at) || null,
    user: tokens.user || (previous && previous.user) || null,
  };
  sessionStorage.setItem(KEY, JSON.stringify(session));
  scheduleRefresh(session);
  return session;
}

export function clearSession() {
  sessionStorage.removeItem(KEY);
  clearTimeout(refreshTimer);
}

/** What a failed response says, for a person: FastAPI's `detail` string or its validation list. */
export function describe(status, body) {
  const detail = body && body.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((d) => (Array.isArray(d.loc) ? d.loc.slice(1).join(".") + ": " : "") + d.msg).join("; ");
  }
  if (Array.isArray(body) && body[0] && body[0].description) return body[0].description;
  return `HTTP ${status}`;
}

async function readBody(response) {
  const type = response.headers.get("content-type") || "";
  if (response.status === 204) return null;
  if (type.includes("json")) return response.json();
  return response.text();
}

export async function login(username, password) {
  const response = await fetch("/api/auth/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  const body = await readBody(response);
  if (!response.ok) {
    let detail = describe(response.status, body);
    const wait = response.headers.get("Retry-After");
    if (response.status === 429 && wait) detail += ` (retry in ${wait} s)`;
    throw new ApiError(response.status, detail, body);
  }
  return saveSession(body, null);
}

/** Exchange the refresh token for a new pair; one request at a time however many callers wait. */
export function refresh() {
  if (!refreshing) {
    refreshing = (async () => {
      const session = currentSession();
      if (!session || !session.refresh_token) throw new ApiError(401, "not logged in", null);
      const response = await fetch("/api/auth/refresh", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: session.refresh_token }),
      });
      const body = await readBody(response);
      if (!response.ok) {
        clearSession();
        throw new ApiError(response.status, describe(response.status, body), body);
      }
      return saveSession(body, session);
    })().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

function scheduleRefresh(session) {
  clearTimeout(refreshTimer);
  if (!session || !session.expires_at) return;
  const wait = Math.max(5_000, new Date(session.expires_at).getTime() - Date.now() - REFRESH_MARGIN_MS);
  refreshTimer = setTimeout(() => refresh().catch(() => toLogin()), wait);
}

/** A valid access token, refreshed first if it is about to expire. */
export async function accessToken() {
  const session = currentSession();
  if (!session) throw new ApiError(401, "not logged in", null);
  if (new Date(session.expires_at).getTime() - Date.now() < 5_000) return (await refresh()).access_token;
  return session.access_token;
}

export function toLogin() {
  clearSession();
  const here = location.pathname + location.search;
  location.assign("/login" + (here.startsWith("/login") ? "" : "?next=" + encodeURIComponent(here)));
}

/**
 * Call the API. `body` is sent as JSON; `query` is an object of parameters (null/undefined/"" left
 * out, arrays repeated). Resolves to the parsed body (null for 204); rejects with an ApiError that
 * carries the server's own message. A 401 refreshes the session once and retries.
 */
export async function api(path, { method = "GET", body, query, signal } = {}) {
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v !== null && v !== undefined && v !== "") url.searchParams.append(name, v);
    }
  }
  const send = async (token) => fetch(url, {
    method,
    signal,
    headers: {
      Authorization: "Bearer " + token,
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let token;
  try {
    token = await accessToken();
  } catch (err) {
    if (err.status === 401) toLogin();
    throw err;
  }
  let response = await send(token);
  if (response.status === 401) {
    try {
      response = await send((await refresh()).access_token);
    } catch (err) {
      toLogin();
      throw err;
    }
  }
  const parsed = await readBody(response);
  if (!response.ok) throw new ApiError(response.status, describe(response.status, parsed), parsed);
  return parsed;
}

/** End the session on the server (its tokens stop working), then here. The page leaves either way. */
export async function logout() {
  const session = currentSession();
  if (session) {
    try {
      await fetch("/api/auth/logout", { method: "POST", headers: { Authorization: "Bearer " + session.access_token } });
    } catch {
      // offline: the tokens still expire on their own
    }
  }
  clearSession();
  location.assign("/login");
}

scheduleRefresh(currentSession());
