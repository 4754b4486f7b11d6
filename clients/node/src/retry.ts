// When to try a request again, and after how long, by the same rules as the Python SDK: 429, 409
// (a send with the same Idempotency-Key still in progress: the API says "retry shortly"), 5xx and
// no answer are retried with exponential backoff and full jitter, or after the Retry-After the
// API sends; any other 4xx is final, since it would fail the same way again.

export interface RetryPolicy {
  /** Attempts after the first one. */
  maxRetries: number;
  /** The backoff's first ceiling; it doubles each retry up to maxDelayMs. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited for: the backoff applies instead. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxRetries: 3,
  initialDelayMs: 500,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 60_000,
};

export function isRetryableStatus(status: number): boolean {
  return status === 409 || status === 429 || status >= 500;
}

/** How long to wait before retry number `retry` (0 for the first): the API's Retry-After when it gave a usable one. */
export function retryDelayMs(
  policy: RetryPolicy,
  retry: number,
  retryAfterMs: number | undefined,
  random?: () => number,
): number {
  if (retryAfterMs !== undefined && retryAfterMs <= policy.maxRetryAfterMs) return retryAfterMs;
  return backoffDelayMs(policy, retry, random);
}

/**
 * Full jitter (a uniform draw under the exponential ceiling): clients that failed together do
 * not come back together. `retry` counts from 0; `random` is injectable for tests.
 */
export function backoffDelayMs(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** retry);
  return Math.floor(random() * ceiling);
}

/** Retry-After in milliseconds: delay-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
