// The API, from this origin: the app-key header on every call, the envelope's `data` back, and an
// ApiError carrying the status and the API's `detail` otherwise. A 401 ends the session.
import { appKey, signOut } from "./session.js";

const BASE = document.querySelector('meta[name="lisoloo-api-base"]').content.replace(/\/$/, "");

export class ApiError extends Error {
  constructor(status, detail) {
    super(describe(status, detail));
    this.status = status;
    this.detail = detail;
  }
}

/** `detail` as the API sends it: a sentence, or (422) a list of {loc, msg}. */
function describe(status, detail) {
  if (Array.isArray(detail)) {
    return detail.map((problem) => `${(problem.loc || []).slice(1).join(".") || "request"}: ${problem.msg}`).join("; ");
  }
  if (typeof detail === "string" && detail) return detail;
  return status >= 500 ? `The API failed (HTTP ${status}); try again.` : `The API refused the request (HTTP ${status}).`;
}

/** Query parameters without the empty ones. */
export function query(parameters) {
  const kept = Object.entries(parameters).filter(([, value]) => value !== undefined && value !== null && value !== "");
  return kept.length ? `?${new URLSearchParams(kept)}` : "";
}

export async function call(method, path, { body, key } = {}) {
  const headers = { "app-key": key ?? appKey() ?? "" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(`${BASE}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "The API could not be reached; check your connection and try again.");
  }
  const payload = await response.json().catch(() => ({}));
  if (response.ok) return payload.data;
  if (response.status === 401 && key === undefined) {
    signOut();
    window.dispatchEvent(new CustomEvent("lisoloo:signed-out", { detail: payload.detail }));
  }
  throw new ApiError(response.status, payload.detail);
}

export const get = (path) => call("GET", path);
export const post = (path, body) => call("POST", path, { body });
export const put = (path, body) => call("PUT", path, { body });
export const del = (path) => call("DELETE", path);
