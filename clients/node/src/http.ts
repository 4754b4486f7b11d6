// One request to the API, retried by the rules of retry.ts; success envelopes unwrapped, errors
// turned into LisolooErrors. The app-key lives in a private field, never in a message or a log.
import { ConnectionError, errorForStatus, LisolooError, type Detail } from "./errors.js";
import { backoffDelayMs, isRetryableStatus, parseRetryAfter, retryDelayMs, type RetryPolicy } from "./retry.js";

export type QueryValue = string | number | boolean | null | undefined;

export interface RequestOptions {
  query?: Record<string, QueryValue> | undefined;
  body?: unknown;
  headers?: Record<string, string> | undefined;
}

export interface TransportOptions {
  appKey: string;
  baseUrl: string;
  timeoutMs: number;
  retry: RetryPolicy;
  fetch?: typeof fetch | undefined;
  /** For tests: how a retry waits (a real timer by default). */
  sleep?: ((milliseconds: number) => Promise<void>) | undefined;
  random?: (() => number) | undefined;
}

const wait = (milliseconds: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, milliseconds));

export class Transport {
  readonly #appKey: string;
  readonly #baseUrl: string;
  readonly #timeoutMs: number;
  readonly #retry: RetryPolicy;
  readonly #fetch: typeof fetch;
  readonly #sleep: (milliseconds: number) => Promise<void>;
  readonly #random: () => number;

  constructor(options: TransportOptions) {
    if (!options.appKey) throw new LisolooError("an app-key is required (appKey)");
    if (!options.baseUrl) throw new LisolooError("the API's base URL is required (baseUrl)");
    this.#appKey = options.appKey;
    this.#baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#timeoutMs = options.timeoutMs;
    this.#retry = options.retry;
    // Bound to globalThis: browsers refuse a fetch called as a method of another object.
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#sleep = options.sleep ?? wait;
    this.#random = options.random ?? Math.random;
  }

  /** The `data` of the success envelope; throws a LisolooError subclass otherwise. */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const url = this.#url(path, options.query);
    const init = this.#init(method, options);
    for (let retry = 0; ; retry += 1) {
      const canRetry = retry < this.#retry.maxRetries;
      let response: Response;
      let text: string;
      try {
        response = await this.#fetch(url, { ...init, signal: AbortSignal.timeout(this.#timeoutMs) });
        text = await response.text();
      } catch (cause) {
        // No answer, or an answer cut short: the request may or may not have been handled, which
        // is why a send carries an Idempotency-Key (the same one on every attempt).
        if (canRetry) {
          await this.#sleep(backoffDelayMs(this.#retry, retry, this.#random));
          continue;
        }
        throw new ConnectionError(`no answer to ${method} ${path}: ${reason(cause)}`);
      }
      if (response.ok) return unwrap<T>(text, method, path);
      const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
      if (isRetryableStatus(response.status) && canRetry) {
        await this.#sleep(retryDelayMs(this.#retry, retry, retryAfterMs, this.#random));
        continue;
      }
      const retryAfterSeconds = retryAfterMs === undefined ? undefined : retryAfterMs / 1000;
      throw errorForStatus(response.status, readDetail(text, response.status), retryAfterSeconds);
    }
  }

  #url(path: string, query: Record<string, QueryValue> | undefined): string {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null) search.set(name, String(value));
    }
    const encoded = search.toString();
    return `${this.#baseUrl}${path}${encoded ? `?${encoded}` : ""}`;
  }

  #init(method: string, options: RequestOptions): RequestInit {
    const headers: Record<string, string> = { accept: "application/json", ...options.headers, "app-key": this.#appKey };
    if (options.body === undefined) return { method, headers };
    return { method, headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(options.body) };
  }
}

function unwrap<T>(text: string, method: string, path: string): T {
  try {
    return (JSON.parse(text) as { data: T }).data;
  } catch {
    throw new LisolooError(`${method} ${path} answered with something that is not JSON: ${text.slice(0, 200)}`);
  }
}

function readDetail(text: string, status: number): Detail {
  try {
    const body = JSON.parse(text) as { detail?: Detail };
    if (body.detail !== undefined) return body.detail;
  } catch {
    // Not the API's JSON (a proxy's error page, say): its start is the best detail there is.
  }
  return text.trim().slice(0, 200) || `HTTP ${status}`;
}

function reason(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  if (cause.name === "TimeoutError") return "timed out";
  const code = (cause.cause as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? `${cause.message} (${code})` : cause.message;
}
