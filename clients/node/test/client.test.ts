// The client against a scripted API: the Idempotency-Key of a send, listings that neither skip
// nor repeat, and an app-key that never shows.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inspect } from "node:util";

import { ConnectionError, Lisoloo, LisolooError } from "../src/index.js";
import { connectionReset, FakeFetch, ok, type Answer } from "./fake-fetch.js";

const APP_KEY = "lsk_never_printed_0123456789";
const BASE_URL = "https://api.example/prod/api/v1/lisoloo/sms-api/";

function client(answers: Answer[], maxRetries?: number): { api: FakeFetch; lisoloo: Lisoloo } {
  const api = new FakeFetch(answers);
  return {
    api,
    lisoloo: new Lisoloo({
      appKey: APP_KEY,
      baseUrl: BASE_URL,
      fetch: api.fetch,
      ...(maxRetries === undefined ? {} : { maxRetries }),
    }),
  };
}

const accepted = {
  message_id: "6b04",
  status: "pending",
  total_recipients: 1,
  encoding: "GSM-7",
  segments: 1,
  segments_total: 1,
  created_at: "2026-12-07T10:00:00Z",
};
const retryNow = (status: number): Answer => ({ status, body: { detail: "again" }, headers: { "retry-after": "0" } });

async function all<Item>(items: AsyncIterable<Item>): Promise<Item[]> {
  const collected: Item[] = [];
  for await (const item of items) collected.push(item);
  return collected;
}

describe("send", () => {
  it("sends the request as given, with the app-key and one Idempotency-Key on every attempt", async () => {
    const { api, lisoloo } = client([retryNow(429), connectionReset(), retryNow(503), ok(accepted)]);
    const request = {
      to: ["+254712345678", { to: "+254712345679", vars: { name: "Amina" } }],
      message: "Hi {{name}}",
      reference: "order-1",
    };
    assert.deepEqual(await lisoloo.send(request), accepted);
    assert.equal(api.requests.length, 4);
    const keys = new Set(api.requests.map((sent) => sent.headers["idempotency-key"]));
    assert.equal(keys.size, 1);
    assert.match([...keys][0]!, /^[0-9a-f-]{36}$/);
    for (const sent of api.requests) {
      assert.equal(sent.method, "POST");
      assert.equal(sent.url.href, "https://api.example/prod/api/v1/lisoloo/sms-api/send");
      assert.equal(sent.headers["app-key"], APP_KEY);
      assert.deepEqual(sent.body, request);
    }
  });

  it("gives each send a key of its own, or the caller's", async () => {
    const { api, lisoloo } = client([ok(accepted), ok(accepted), ok(accepted)]);
    await lisoloo.send({ to: ["+254712345678"], message: "one" });
    await lisoloo.send({ to: ["+254712345678"], message: "one" });
    await lisoloo.send({ to: ["+254712345678"], message: "one" }, { idempotencyKey: "order-1182" });
    const [first, second, third] = api.requests.map((sent) => sent.headers["idempotency-key"]);
    assert.notEqual(first, second);
    assert.equal(third, "order-1182");
  });
});

describe("listings", () => {
  it("reads on past short and empty pages until the cursor is null", async () => {
    const { api, lisoloo } = client([
      ok({ messages: [{ message_id: "a" }], cursor: "c1" }),
      ok({ messages: [], cursor: "c2" }),
      ok({ messages: [{ message_id: "b" }, { message_id: "c" }], cursor: null }),
    ]);
    const found = await all(lisoloo.messages({ reference: "order-1182", limit: 2 }));
    assert.deepEqual(
      found.map((message) => message.message_id),
      ["a", "b", "c"],
    );
    assert.deepEqual(
      api.requests.map((sent) => sent.url.searchParams.get("cursor")),
      [null, "c1", "c2"],
    );
    assert.ok(api.requests.every((sent) => sent.url.searchParams.get("reference") === "order-1182"));
  });

  it("pages a message's recipients with recipients_cursor", async () => {
    const recipient = (to: string) => ({ to, status: "delivered", updated_at: "2026-12-07T10:00:00Z" });
    const { api, lisoloo } = client([
      ok({ recipients: [recipient("+1"), recipient("+2")], recipients_cursor: "2" }),
      ok({ recipients: [recipient("+3")], recipients_cursor: null }),
    ]);
    const found = await all(lisoloo.recipients("6b04", { pageSize: 2 }));
    assert.deepEqual(
      found.map((entry) => entry.to),
      ["+1", "+2", "+3"],
    );
    assert.deepEqual(
      api.requests.map((sent) => [
        sent.url.pathname.endsWith("/status/6b04"),
        sent.url.searchParams.get("recipients_cursor"),
      ]),
      [
        [true, null],
        [true, "2"],
      ],
    );
  });

  it("reads events from a position while has_more, each page after the last one's position", async () => {
    const event = (position: string) => ({
      position,
      event_id: `evt_${position}`,
      type: "sms.sent",
      created_at: "",
      body: {},
    });
    const { api, lisoloo } = client([
      ok({ events: [event("5"), event("6")], after: "6", has_more: true }),
      ok({ events: [event("7")], after: "7", has_more: false }),
    ]);
    const found = await all(lisoloo.events({ after: "4", limit: 2 }));
    assert.deepEqual(
      found.map((entry) => entry.position),
      ["5", "6", "7"],
    );
    assert.deepEqual(
      api.requests.map((sent) => sent.url.searchParams.get("after")),
      ["4", "6"],
    );
  });

  it("stops with an error rather than read the same page twice", async () => {
    const { lisoloo } = client([
      ok({ suppressions: [{ number: "+1" }], cursor: "+1" }),
      ok({ suppressions: [{ number: "+1" }], cursor: "+1" }),
    ]);
    await assert.rejects(
      all(lisoloo.suppressions()),
      (error: unknown) => error instanceof LisolooError && /twice/.test(error.message),
    );
  });
});

describe("the app-key", () => {
  it("and the base URL are required", () => {
    assert.throws(() => new Lisoloo({ appKey: "", baseUrl: BASE_URL }), /appKey/);
    assert.throws(() => new Lisoloo({ appKey: APP_KEY, baseUrl: "" }), /baseUrl/);
  });

  it("shows in no inspection of the client nor in any error", async () => {
    const { lisoloo } = client([connectionReset(), { status: 401, body: { detail: "Invalid or missing app-key" } }], 0);
    const failures = [
      await lisoloo.balance().catch((error: unknown) => error),
      await lisoloo.balance().catch((error: unknown) => error),
    ];
    assert.ok(failures[0] instanceof ConnectionError);
    const shown = [
      inspect(lisoloo, { showHidden: true, depth: null }),
      JSON.stringify(lisoloo),
      String(lisoloo),
      ...failures.flatMap((error) => [
        inspect(error, { showHidden: true, depth: null }),
        JSON.stringify(error),
        String((error as Error).stack),
      ]),
    ];
    for (const text of shown) assert.ok(!text.includes(APP_KEY), text);
  });
});
