// The API client of every page: bearer token, silent refresh, and the server's error words.
//
// The session (access token, refresh token, user) lives in sessionStorage: one per browser tab, kept
// across page navigation, gone when the tab closes. Refresh tokens rotate: a refresh uses the token
// up and answers with its successor, and the server ends the whole session when a used one comes back
// (reuse detection, docs/agent_desk.md). So one refresh token is only ever used by one page at a time:
// - a page sends one refresh at a time, however many callers wait for it (`refresh`);
// - the shell leaves a page only once a refresh in flight has answered (`leave`), so the next page
//   starts with the newest token;
// - a tab the browser duplicates starts with a copy of this tab's sessionStorage. The page that holds
//   the session's Web Lock owns the session; a copy finds it held and asks for a log-in of its own.

const KEY = "hotline.session";
const NOTICE = "hotline.notice"; // a word for the login page, set when a session is dropped here
const LOCK = "hotline.session.";
const REFRESH_MARGIN_MS = 60_000; // refresh this long before the access token expires
const OWNER_WAIT_MS = 2_000; // how long a page waits for the page this tab is leaving to let go
let refreshing = null;
let refreshTimer = null;
let leaving = false;
let ownership = null; // { id, owned: Promise<boolean> } for the session this page uses

/** Never settles: what a call started while the page is leaving waits for. */
const departure = () => new Promise(() => {});

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

function randomId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function saveSession(tokens, previous) {
  const session = {
    id: (previous && previous.id) || randomId(), // names the session's lock; a log-in makes a new one
    access_token: tokens.access_token,
    expires_at: tokens.expires_at,
    refresh_token: tokens.refresh_token || (previous && previous.refresh_token) || null,
    refresh_expires_at: tokens.refresh_expires_at || (previous && previous.refresh_expires_at) || null,
    user: tokens.user || (previous && previous.user) || null,
  };
  sessionStorage.setItem(KEY, JSON.stringify(session));
  return session;
}

export function clearSession() {
  sessionStorage.removeItem(KEY);
  clearTimeout(refreshTimer);
}

/**
 * Whether this page owns `session`: it holds the session's lock, waiting a moment for a page this
 * tab is leaving to let go of it. Held by another tab after that: this tab is a copy of it.
 * Without Web Locks (a page served over plain http from another host than localhost) a copy
 * cannot be told apart; serve the desk over https.
 */
function claim(session) {
  if (!navigator.locks) return Promise.resolve(true);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), OWNER_WAIT_MS);
  return new Promise((resolve) => {
    navigator.locks.request(LOCK + session.id, { signal: controller.signal }, () => {
      clearTimeout(timer);
      resolve(true);
      return new Promise(() => {}); // held for as long as this page lives
    }).catch(() => resolve(false));
  });
}

/** Resolves to the session this page may use, or null (none, or another tab's). */
export async function ownSession() {
  const session = currentSession();
  if (!session || !session.id) return null;
  if (!ownership || ownership.id !== session.id) {
    ownership = { id: session.id, owned: claim(session) };
    ownership.owned.then((owned) => owned && scheduleRefresh(currentSession()));
  }
  if (await ownership.owned) return currentSession();
  // A copy: drop it here only. Ending it on the server would log the other tab out.
  sessionStorage.removeItem(KEY);
  sessionStorage.setItem(NOTICE, "此标签页复制自另一个已登录的标签页，请重新登录 "
    + "This tab is a copy of another signed-in tab: log in to give it a session of its own");
  return null;
}

/** What the login page should say about the session this tab lost, once. */
export function takeNotice() {
  const notice = sessionStorage.getItem(NOTICE);
  sessionStorage.removeItem(NOTICE);
  return notice;
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

/**
 * Exchange the refresh token for a new pair; one request at a time however many callers wait. None
 * starts once the page is leaving: its answer (the only copy of the new token) could come too late.
 */
export function refresh() {
  if (!refreshing) {
    if (leaving) return departure();
    refreshing = (async () => {
      const session = await ownSession();
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
      const saved = saveSession(body, session);
      scheduleRefresh(saved);
      return saved;
    })().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

function scheduleRefresh(session) {
  clearTimeout(refreshTimer);
  if (leaving || !session || !session.expires_at) return;
  const wait = Math.max(5_000, new Date(session.expires_at).getTime() - Date.now() - REFRESH_MARGIN_MS);
  refreshTimer = setTimeout(() => refresh().catch(() => toLogin()), wait);
}

/** A valid access token, refreshed first if it is about to expire. */
export async function accessToken() {
  const session = await ownSession();
  if (!session) throw new ApiError(401, "not logged in", null);
  if (new Date(session.expires_at).getTime() - Date.now() < 5_000) return (await refresh()).access_token;
  return session.access_token;
}

/** Go to another page once a refresh in flight has answered (its new token is then stored). */
export async function leave(url) {
  leaving = true;
  clearTimeout(refreshTimer);
  if (refreshing) await refreshing.catch(() => {});
  location.assign(url);
}

export function toLogin() {
  if (leaving) return;
  clearSession();
  const here = location.pathname + location.search;
  leave("/login" + (here.startsWith("/login") ? "" : "?next=" + encodeURIComponent(here)));
}

/**
 * Call the API. `body` is sent as JSON; `query` is an object of parameters (null/undefined/"" left
 * out, arrays repeated). Resolves to the parsed body (null for 204), or with `blob: true` to the
 * body as a Blob (a download); rejects with an ApiError that carries the server's own message. A 401
 * refreshes the session once and retries. Once the page is leaving (log-out, a dead session) calls
 * wait for the next page instead of failing.
 */
export async function api(path, { method = "GET", body, query, signal, blob = false } = {}) {
  if (leaving) return departure();
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
  if (response.status === 401 && !leaving) {
    try {
      response = await send((await refresh()).access_token);
    } catch (err) {
      toLogin();
      throw err;
    }
  }
  if (leaving) return departure();
  if (blob && response.ok) return response.blob();
  const parsed = await readBody(response);
  if (!response.ok) throw new ApiError(response.status, describe(response.status, parsed), parsed);
  return parsed;
}

/**
 * End the session on the server (its tokens stop working), then here, then go to the login page.
 * Nothing else this page started may refresh or redirect meanwhile; the page leaves either way.
 */
export async function logout() {
  if (leaving) return;
  if (refreshing) await refreshing.catch(() => {});
  let session = await ownSession();
  if (session && new Date(session.expires_at).getTime() - Date.now() < 5_000) {
    session = await refresh().catch(() => null); // one that cannot be refreshed has ended already
  }
  leaving = true;
  clearTimeout(refreshTimer);
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

ownSession();
