// Webhook verification on what the client can make itself: signed with the Standard Webhooks
// library, then tampered with. (tests/e2e runs the stack's own signed deliveries through it.)
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Webhook } from "standardwebhooks";

import { verifyWebhook, WebhookVerificationError } from "../src/index.js";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const BODY = JSON.stringify({
  type: "sms.delivered",
  timestamp: "2026-12-07T10:00:03Z",
  sequence: 4,
  data: { message_id: "6b04" },
});

function signed(body: string, at = new Date()): Record<string, string> {
  return {
    "webhook-id": "evt_6b04_delivered",
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": new Webhook(SECRET).sign("evt_6b04_delivered", at, body),
  };
}

describe("verifyWebhook", () => {
  it("returns the event of a signed body, from a plain record, Node's headers or fetch's Headers", () => {
    const headers = signed(BODY);
    const nodeStyle = { ...headers, "webhook-signature": ["v1,bm90IHRoaXMgb25l", headers["webhook-signature"]!] };
    for (const given of [headers, nodeStyle, new Headers(headers)]) {
      const event = verifyWebhook(BODY, given, SECRET);
      assert.equal(event.type, "sms.delivered");
      assert.equal(event.data["message_id"], "6b04");
    }
    assert.equal(verifyWebhook(new TextEncoder().encode(BODY), headers, SECRET).sequence, 4);
  });

  it("refuses a changed body, another secret, a stale timestamp, missing headers and a bad secret", () => {
    const headers = signed(BODY);
    const refusals: [string | Uint8Array, Record<string, string>, string][] = [
      [BODY.replace("6b04", "6b05"), headers, SECRET],
      [BODY, headers, "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"],
      [BODY, signed(BODY, new Date(Date.now() - 10 * 60_000)), SECRET],
      [BODY, { "webhook-id": headers["webhook-id"]! }, SECRET],
      [BODY, headers, "not a secret!"],
    ];
    for (const [body, given, secret] of refusals) {
      assert.throws(() => verifyWebhook(body, given, secret), WebhookVerificationError);
    }
  });
});
