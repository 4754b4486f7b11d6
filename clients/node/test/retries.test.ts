// The retry rules (retry.ts, http.ts) against a scripted API: what is retried, after how long,
// and what reaches the caller when retrying stops.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  AuthenticationError,
  ConflictError,
  ConnectionError,
  InsufficientBalanceError,
  InvalidRequestError,
  LisolooError,
  NotFoundError,
  RateLimitError,
  ServerError,
} from "../src/errors.js";
import { Transport } from "../src/http.js";
import { backoffDelayMs, DEFAULT_RETRY_POLICY, parseRetryAfter } from "../src/retry.js";
import { connectionReset, FakeFetch, ok, type Answer } from "./fake-fetch.js";

const BASE_URL = "https://api.example/prod/api/v1/lisoloo/sms-api";

function transport(answers: Answer[], random = () => 0.5): { api: FakeFetch; http: Transport; waits: number[] } {
  const api = new FakeFetch(answers);
  const waits: number[] = [];
  const http = new Transport({
    appKey: "lsk_test",
    baseUrl: BASE_URL,
    timeoutMs: 1_000,
    retry: DEFAULT_RETRY_POLICY,
    fetch: api.fetch,
    sleep: async (milliseconds) => {
      waits.push(milliseconds);
    },
    random,
  });
  return { api, http, waits };
}

describe("retries", () => {
  it("waits the seconds of a 429's Retry-After, then answers", async () => {
    const { api, http, waits } = transport([
      { status: 429, body: { detail: "Rate limit exceeded" }, headers: { "retry-after": "2" } },
      ok({ balance: "1.00" }),
    ]);
    assert.deepEqual(await http.request("GET", "/balance"), { balance: "1.00" });
    assert.deepEqual(waits, [2_000]);
    assert.equal(api.requests.length, 2);
  });

  it("waits until a 429's Retry-After date", async () => {
    const { http, waits } = transport([
      {
        status: 429,
        body: { detail: "Rate limit exceeded" },
        headers: { "retry-after": new Date(Date.now() + 5_000).toUTCString() },
      },
      ok({}),
    ]);
    await http.request("GET", "/balance");
    // An HTTP date has whole seconds: the wait is the 5 s less the part of a second already past.
    assert.equal(waits.length, 1);
    assert.ok(waits[0]! > 3_900 && waits[0]! <= 5_000, `waited ${waits[0]} ms`);
  });

  it("reads Retry-After as seconds or an HTTP date, and ignores what is neither", () => {
    const now = Date.parse("2026-12-07T10:00:00Z");
    assert.equal(parseRetryAfter("3", now), 3_000);
    assert.equal(parseRetryAfter("Mon, 07 Dec 2026 10:00:30 GMT", now), 30_000);
    assert.equal(parseRetryAfter("Mon, 07 Dec 2026 09:59:00 GMT", now), 0);
    assert.equal(parseRetryAfter("soon", now), undefined);
    assert.equal(parseRetryAfter(null, now), undefined);
  });

  it("backs off exponentially with full jitter on 5xx, then throws ServerError with the detail", async () => {
    const failure = { status: 503, body: { detail: "Service Unavailable" } };
    const { api, http, waits } = transport([failure, failure, failure, failure], () => 0.999);
    const error = await http.request("GET", "/balance").catch((caught: unknown) => caught);
    assert.ok(error instanceof ServerError);
    assert.equal(error.status, 503);
    assert.equal(error.detail, "Service Unavailable");
    assert.equal(api.requests.length, 1 + DEFAULT_RETRY_POLICY.maxRetries);
    assert.deepEqual(waits, [499, 999, 1_998]);
  });

  it("draws every wait under a ceiling that doubles up to the maximum", () => {
    const ceilings = [0, 1, 2, 3, 4, 5, 10].map((retry) =>
      backoffDelayMs(DEFAULT_RETRY_POLICY, retry, () => 0.9999999),
    );
    assert.deepEqual(ceilings, [499, 999, 1_999, 3_999, 7_999, 7_999, 7_999]);
    assert.equal(
      backoffDelayMs(DEFAULT_RETRY_POLICY, 3, () => 0),
      0,
    );
  });

  it("retries a connection that failed, then throws ConnectionError with no status", async () => {
    const { api, http } = transport([connectionReset(), connectionReset(), connectionReset(), connectionReset()]);
    const error = await http.request("GET", "/balance").catch((caught: unknown) => caught);
    assert.ok(error instanceof ConnectionError);
    assert.equal(error.status, undefined);
    assert.match(error.message, /ECONNRESET/);
    assert.equal(api.requests.length, 4);
  });

  it("retries an answer cut off in its body", async () => {
    const api = new FakeFetch([ok({ balance: "2.00" })]);
    let calls = 0;
    const cutShort = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
      calls += 1;
      if (calls > 1) return api.fetch(input, init);
      const body = new ReadableStream({ pull: (controller) => controller.error(connectionReset()) });
      return new Response(body, { status: 200 });
    };
    const http = new Transport({
      appKey: "lsk_test",
      baseUrl: BASE_URL,
      timeoutMs: 1_000,
      retry: DEFAULT_RETRY_POLICY,
      fetch: cutShort,
      sleep: async () => {},
    });
    assert.deepEqual(await http.request("GET", "/balance"), { balance: "2.00" });
    assert.equal(calls, 2);
  });

  it("gives up on an attempt after timeoutMs and retries it", async () => {
    let calls = 0;
    const hangs = (_input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
      calls += 1;
      // An open socket keeps a process alive; this timer stands for it (the abort's timer does not).
      const socket = setTimeout(() => {}, 10_000);
      return new Promise((_resolve, reject) =>
        init?.signal?.addEventListener("abort", () => {
          clearTimeout(socket);
          reject(init.signal?.reason);
        }),
      );
    };
    const http = new Transport({
      appKey: "lsk_test",
      baseUrl: BASE_URL,
      timeoutMs: 20,
      retry: { ...DEFAULT_RETRY_POLICY, maxRetries: 1 },
      fetch: hangs,
      sleep: async () => {},
    });
    const error = await http.request("GET", "/balance").catch((caught: unknown) => caught);
    assert.ok(error instanceof ConnectionError);
    assert.match(error.message, /timed out/);
    assert.equal(calls, 2);
  });

  it("never retries another 4xx: one request, the error class of its status, the detail kept", async () => {
    const cases: [number, unknown, new (...args: never[]) => LisolooError][] = [
      [400, "Bad request", InvalidRequestError],
      [401, "Invalid or missing app-key", AuthenticationError],
      [402, "Insufficient balance", InsufficientBalanceError],
      [404, "Message not found", NotFoundError],
      [422, [{ loc: ["body", "to", 0], msg: "not a phone number", type: "value_error" }], InvalidRequestError],
    ];
    for (const [status, detail, kind] of cases) {
      const { api, http, waits } = transport([{ status, body: { detail } }]);
      const error = await http.request("GET", "/balance").catch((caught: unknown) => caught);
      assert.ok(error instanceof kind, `${status} gave ${String(error)}`);
      assert.equal(error.status, status);
      assert.deepEqual(error.detail, detail);
      assert.equal(api.requests.length, 1, `${status} was retried`);
      assert.deepEqual(waits, []);
    }
  });

  it("backs off instead of waiting a Retry-After longer than a minute", async () => {
    const slow = { status: 429, body: { detail: "Rate limit exceeded" }, headers: { "retry-after": "120" } };
    const { http, waits } = transport([slow, ok({})], () => 0.5);
    await http.request("GET", "/balance");
    assert.deepEqual(waits, [250]);
  });

  it("retries a 409 (the same Idempotency-Key still in progress), then throws ConflictError", async () => {
    const busy = {
      status: 409,
      body: { detail: "A request with this Idempotency-Key is still in progress; retry shortly" },
    };
    const { api, http } = transport([busy, busy, busy, busy]);
    const error = await http.request("POST", "/send", { body: {} }).catch((caught: unknown) => caught);
    assert.ok(error instanceof ConflictError);
    assert.equal(error.status, 409);
    assert.equal(api.requests.length, 4);
  });

  it("carries the last Retry-After on the RateLimitError when the retries run out", async () => {
    const limited = { status: 429, body: { detail: "Rate limit exceeded" }, headers: { "retry-after": "1" } };
    const { http } = transport([limited, limited, limited, limited]);
    const error = await http.request("GET", "/balance").catch((caught: unknown) => caught);
    assert.ok(error instanceof RateLimitError);
    assert.equal(error.retryAfterSeconds, 1);
  });

  it("keeps the start of an answer that is not the API's JSON as the detail", async () => {
    const page = { status: 502, body: "<html>Bad Gateway</html>" };
    const { http } = transport([page, page, page, page], () => 0);
    const error = await http.request("GET", "/balance").catch((caught: unknown) => caught);
    assert.ok(error instanceof ServerError);
    assert.equal(error.detail, "<html>Bad Gateway</html>");
  });
});
