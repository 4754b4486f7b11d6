// The client against the running local stack (make run), as tests/e2e/test_node_client.py runs it
// for an organization of its own: API, LISOLOO_API_KEY and LISOLOO_WEBHOOK_SECRET as make run
// prints them, plus where the stack's webhook inspector, sandbox carriers and inbound number are.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";

import { AuthenticationError, InvalidRequestError, Lisoloo, NotFoundError, type MessageStatus } from "../src/index.js";

const env = {
  api: process.env["API"] ?? "",
  appKey: process.env["LISOLOO_API_KEY"] ?? "",
  webhookSecret: process.env["LISOLOO_WEBHOOK_SECRET"] ?? "",
  webhookInbox: process.env["LISOLOO_TEST_WEBHOOK_INBOX"] ?? "",
  sandboxUrls: (process.env["LISOLOO_TEST_SANDBOX_URLS"] ?? "").split(",").filter(Boolean),
  ourNumber: process.env["LISOLOO_TEST_OUR_NUMBER"] ?? "",
  throttledKey: process.env["LISOLOO_TEST_THROTTLED_KEY"] ?? "",
};
const skip = Object.values(env).some((value) => value.length === 0)
  ? "no local stack: run through tests/e2e/test_node_client.py (make test), which sets API, LISOLOO_API_KEY and the rest"
  : false;

interface ReceivedWebhook {
  headers: Record<string, string>;
  body: string;
}

async function getJson<T>(url: string): Promise<T> {
  const answer = await fetch(url);
  assert.equal(answer.status, 200, url);
  return (await answer.json()) as T;
}

/** The inspector's deliveries of one message's events, once `count` of them are there. */
async function webhooksOf(messageId: string, count: number): Promise<ReceivedWebhook[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { webhooks } = await getJson<{ webhooks: ReceivedWebhook[] }>(env.webhookInbox);
    const mine = webhooks.filter((webhook) => webhook.body.includes(messageId));
    if (mine.length >= count || Date.now() > deadline) return mine;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** How many times each number of a message was submitted, over every sandbox carrier. */
async function submissionsOf(messageId: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const sandbox of env.sandboxUrls) {
    for (const submitted of await getJson<{ to: string }[]>(`${sandbox}/submissions?message_id=${messageId}`)) {
      counts.set(submitted.to, (counts.get(submitted.to) ?? 0) + 1);
    }
  }
  return counts;
}

async function all<Item>(items: AsyncIterable<Item>): Promise<Item[]> {
  const collected: Item[] = [];
  for await (const item of items) collected.push(item);
  return collected;
}

const unique = (): string => `${Date.now()}${Math.floor(Math.random() * 1_000)}`;

/**
 * A proxy to the stack that answers the first POST /send by dropping the connection once the
 * stack has handled it: the client sees no answer to a send that was made.
 */
class DroppingProxy {
  readonly sendKeys: string[] = [];
  readonly #server: Server;

  constructor(target: URL) {
    this.#server = createServer((request, response) => {
      void this.#forward(target, request).then(async (answer) => {
        if (request.method === "POST" && request.url?.endsWith("/send")) {
          this.sendKeys.push(String(request.headers["idempotency-key"]));
          if (this.sendKeys.length === 1) {
            request.socket.destroy();
            return;
          }
        }
        response.writeHead(answer.status, { "content-type": "application/json" });
        response.end(await answer.text());
      });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  async #forward(target: URL, request: IncomingMessage): Promise<Response> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const headers = Object.fromEntries(
      Object.entries(request.headers).filter(([name]) => name !== "host" && name !== "connection"),
    ) as Record<string, string>;
    const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
    return fetch(new URL(request.url ?? "/", target.origin), { method: request.method ?? "GET", headers, body });
  }
}

describe("against the local stack", { skip }, () => {
  const lisoloo = new Lisoloo({ appKey: env.appKey, baseUrl: env.api });

  it("sends, waits for delivery, and verifies the stack's signed webhooks, redelivered too", async () => {
    const sent = await lisoloo.send({ to: ["+254712345678"], message: "Your code is 4821" });
    const final: MessageStatus = await lisoloo.waitForDelivery(sent.message_id, { intervalMs: 300 });
    assert.deepEqual([final.status, final.delivered, final.failed, final.pending], ["delivered", 1, 0, 0]);

    const received = await webhooksOf(sent.message_id, 4);
    const events = received.map((webhook) => lisoloo.webhooks.verify(webhook.body, webhook.headers, env.webhookSecret));
    assert.deepEqual(
      events.map((event) => event.type),
      ["sms.queued", "sms.processing", "sms.sent", "sms.delivered"],
    );
    assert.ok(events.every((event) => event.data["message_id"] === sent.message_id));

    const logged = (await all(lisoloo.events({ limit: 2 }))).filter((event) => event.message_id === sent.message_id);
    assert.deepEqual(
      logged.map((event) => event.type),
      ["sms.queued", "sms.processing", "sms.sent", "sms.delivered"],
    );
    const delivered = logged.at(-1)!;
    assert.deepEqual(await lisoloo.redeliver(delivered.event_id), { event_id: delivered.event_id, targets: 1 });
    const again = (await webhooksOf(sent.message_id, 5)).at(-1)!;
    assert.equal(again.headers["webhook-id"], delivered.event_id);
    assert.equal(lisoloo.webhooks.verify(again.body, again.headers, env.webhookSecret).type, "sms.delivered");

    const attempts = (await all(lisoloo.webhookDeliveries({ limit: 2 }))).filter(
      (attempt) => attempt.event_id === delivered.event_id,
    );
    assert.ok(
      attempts.length >= 1 && attempts.every((attempt) => attempt.http_status === 200),
      JSON.stringify(attempts),
    );
  });

  it("sends once when the first attempt's answer is lost after the stack handled it", async (t) => {
    const proxy = new DroppingProxy(new URL(env.api));
    const origin = await proxy.start();
    t.after(() => proxy.stop());
    const throughProxy = new Lisoloo({ appKey: env.appKey, baseUrl: `${origin}${new URL(env.api).pathname}` });
    const reference = `retried-${unique()}`;
    const numbers = ["+254712345601", "+254712345602"];

    const sent = await throughProxy.send({ to: numbers, message: "Sent once", reference });

    assert.equal(proxy.sendKeys.length, 2, "the send was not retried");
    assert.equal(new Set(proxy.sendKeys).size, 1, "the retry carried another Idempotency-Key");
    assert.deepEqual(
      (await all(lisoloo.messages({ reference }))).map((message) => message.message_id),
      [sent.message_id],
    );
    await lisoloo.waitForDelivery(sent.message_id, { intervalMs: 300 });
    assert.deepEqual(await submissionsOf(sent.message_id), new Map(numbers.map((number) => [number, 1])));
  });

  it("takes every field of POST /send, and cancels the schedule it made", async () => {
    const inAnHour = new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d+Z$/, "Z");
    const quote = await lisoloo.send({ to: ["+254712345678"], message: "Quote me", dry_run: true });
    assert.equal(quote.dry_run, true);
    assert.equal(quote.total_recipients, 1);

    const sent = await lisoloo.send({
      to: [
        { to: "+254712345678", vars: { name: "Baraka" } },
        { to: "+254712345679", vars: { name: "Amina" } },
      ],
      message: "Hello {{name}}, your order ships today",
      sender_id: "LISOLOO",
      reference: `every-field-${unique()}`,
      callback_url: env.webhookInbox,
      scheduled_dates: [inAnHour],
      recurring_schedule: { cron: "0 9 * * MON", timezone: "Africa/Nairobi", max_occurrences: 2 },
      validity_period: 3_600,
      deliver_within: 120,
    });
    assert.equal(sent.status, "scheduled");
    assert.equal(sent.total_recipients, 2);
    const occurrences = (sent.occurrences ?? []).map((occurrence) => occurrence.message_id);
    assert.ok(sent.schedule_id && occurrences.includes(sent.message_id), JSON.stringify(sent));

    const cancelled = await lisoloo.cancelSchedule(sent.schedule_id);
    assert.deepEqual(new Set(cancelled.cancelled), new Set(occurrences));
    const gone = await lisoloo.status(sent.message_id).catch((error: unknown) => error);
    assert.ok(gone instanceof NotFoundError);
    assert.deepEqual([gone.status, gone.detail], [404, "Message not found"]);
  });

  it("lists recipients, messages and suppressions page by page, each item once", async () => {
    const numbers = ["+254712345611", "+254712345612", "+254712345613", "+254712345614", "+254712345615"];
    const reference = `paged-${unique()}`;
    const sent = [];
    for (let i = 0; i < 3; i += 1)
      sent.push((await lisoloo.send({ to: numbers, message: `Page me ${i}`, reference })).message_id);

    const recipients = await all(lisoloo.recipients(sent[0]!, { pageSize: 2 }));
    assert.deepEqual(
      recipients.map((recipient) => recipient.to),
      numbers,
    );
    const messages = await all(lisoloo.messages({ reference, limit: 1 }));
    assert.deepEqual(
      messages.map((message) => message.message_id),
      [...sent].reverse(),
    );

    const blocked = ["+254712399001", "+254712399002", "+254712399003"];
    assert.deepEqual(await lisoloo.addSuppressions(blocked.slice(0, 2), "asked by phone"), { suppressed: 2 });
    assert.equal((await lisoloo.addSuppression(blocked[2]!)).number, blocked[2]);
    const listed = (await all(lisoloo.suppressions({ limit: 1 }))).map((entry) => entry.number);
    assert.deepEqual(listed.filter((number) => blocked.includes(number)).sort(), blocked);
    assert.equal(new Set(listed).size, listed.length);
    for (const number of blocked) assert.equal((await lisoloo.removeSuppression(number)).number, number);
    const left = (await all(lisoloo.suppressions())).map((entry) => entry.number);
    assert.ok(
      blocked.every((number) => !left.includes(number)),
      JSON.stringify(left),
    );
  });

  it("reads inbound replies and the balance", async () => {
    const text = `Is my parcel out? ${unique()}`;
    const mo = await fetch(`${env.sandboxUrls[0]}/mo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ from: "+254712345699", to: env.ourNumber, text }),
    });
    assert.equal(mo.status, 200, await mo.text());
    const inbound = await all(lisoloo.inbound({ limit: 1 }));
    assert.deepEqual(
      inbound.filter((entry) => entry.text === text).map((entry) => [entry.from, entry.to]),
      [["+254712345699", env.ourNumber]],
    );

    const balance = await lisoloo.balance();
    assert.match(balance.available, /^-?\d+\.\d{2,4}$/);
  });

  it("waits out the gateway's 429s (Retry-After: 1) of an organization limited to 1 request a second", async () => {
    const statuses: number[] = [];
    const counting: typeof fetch = async (input, init) => {
      const answer = await fetch(input, init);
      statuses.push(answer.status);
      return answer;
    };
    const throttled = new Lisoloo({ appKey: env.throttledKey, baseUrl: env.api, fetch: counting });
    // Its burst is 2: two pass at once, the other two after a Retry-After each.
    const balances = await Promise.all([1, 2, 3, 4].map(() => throttled.balance()));
    assert.equal(balances.length, 4);
    assert.ok(statuses.includes(429), `no 429 among ${statuses.join(", ")}`);
    assert.equal(statuses.filter((status) => status === 200).length, 4);
  });

  it("throws the API's errors with their status and detail", async () => {
    const invalid = await lisoloo.send({ to: ["not a number"], message: "" }).catch((error: unknown) => error);
    assert.ok(invalid instanceof InvalidRequestError);
    assert.equal(invalid.status, 422);
    assert.ok(Array.isArray(invalid.detail) && invalid.detail.length > 0, JSON.stringify(invalid.detail));

    const stranger = new Lisoloo({ appKey: "lsk_not_a_key", baseUrl: env.api });
    const refused = await stranger.balance().catch((error: unknown) => error);
    assert.ok(refused instanceof AuthenticationError);
    assert.deepEqual([refused.status, refused.detail], [401, "Invalid or missing app-key"]);
    assert.ok(!refused.message.includes("lsk_not_a_key"));
  });
});
