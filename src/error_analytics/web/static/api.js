// Talking to the API, and building DOM nodes safely.
//
// Every string from the server is untrusted (error messages come from failing programs): it is
// put on the page with textContent / createTextNode only, never parsed as HTML.

export const API_BASE = document.querySelector('meta[name="api-base"]').content.replace(/\/$/, "");

const TOKEN_KEY = "error-analytics-token";
const ACTOR_KEY = "error-analytics-actor";

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

export function getToken() { return sessionStorage.getItem(TOKEN_KEY) || ""; }
export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value); else sessionStorage.removeItem(TOKEN_KEY);
}
export function getActor() { return localStorage.getItem(ACTOR_KEY) || "dashboard"; }
export function setActor(value) {
  if (value) localStorage.setItem(ACTOR_KEY, value); else localStorage.removeItem(ACTOR_KEY);
}

export function apiUrl(path, params = {}) {
  const url = new URL(`${API_BASE}${path}`, window.location.origin);
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, String(value));
  }
  return url.pathname + url.search;
}

function describe(body, status) {
  if (body && typeof body.detail === "string") return body.detail;
  if (body && Array.isArray(body.detail)) {
    return body.detail.map((item) => `${(item.loc || []).slice(1).join(".")}: ${item.msg}`).join("; ");
  }
  return `request failed (${status})`;
}

export async function api(path, { method = "GET", params = {}, body } = {}) {
  const headers = { Accept: "application/json" };
  // writes must be JSON (the server refuses form and text posts: no cross-site form can send one)
  if (body !== undefined || method !== "GET") headers["Content-Type"] = "application/json";
  const token = getToken();
  if (token && method !== "GET") headers.Authorization = `Bearer ${token}`;
  const response = await fetch(apiUrl(path, params), {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed = null;
  try { parsed = text ? JSON.parse(text) : null; } catch { parsed = null; }
  if (!response.ok) throw new ApiError(response.status, describe(parsed, response.status), parsed);
  return parsed;
}

// ANSI colour codes and other control characters (kept: newline and tab) are noise on a page.
const CONTROL = /\x1b\[[0-9;?]*[ -\/]*[@-~]|[\x00-\x08\x0b-\x1f\x7f]/g;

export function plain(text) { return String(text).replace(CONTROL, ""); }

/**
 * el("p", {className: "muted", text: "..."}, child, ...): text goes through textContent,
 * attributes through setAttribute, listeners through on: {click: fn}.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = plain(value);
    else if (name === "className") node.className = value;
    else if (name === "on") for (const [event, handler] of Object.entries(value)) node.addEventListener(event, handler);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name === "value") node.value = value;
    else if (name === "checked") node.checked = Boolean(value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(plain(child)));
  }
  return node;
}

let noticeTimer = null;

export function notify(message, kind = "info") {
  const box = document.getElementById("notice");
  box.textContent = message;
  box.className = kind;
  box.hidden = false;
  clearTimeout(noticeTimer);
  if (kind !== "error") noticeTimer = setTimeout(() => { box.hidden = true; }, 6000);
}

export function explain(error) {
  if (error instanceof ApiError && error.status === 401) {
    return "This server needs an API token for changes: enter it under Settings.";
  }
  if (error instanceof ApiError && error.status === 409) {
    return `${error.message} The page now shows the latest state; try again.`;
  }
  return error.message || String(error);
}

export function formatTime(value) {
  return value ? String(value).slice(0, 16) : "–";
}
