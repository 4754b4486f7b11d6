// Webhooks are signed by the Standard Webhooks scheme (webhook-id, webhook-timestamp,
// webhook-signature), so they are checked with its reference library: the server signs with the
// same project's Python one. It is synchronous and pure JavaScript, so it runs in browsers too.
import { Webhook, WebhookVerificationError as StandardWebhookError } from "standardwebhooks";

import { WebhookVerificationError } from "./errors.js";

/** A webhook's body (README "Webhooks"): `data` is the message's status without recipients, or the account's or number's event. */
export interface WebhookEvent {
  type: string;
  timestamp: string;
  /** The event's stage for a message's events (1 queued … 4 final); absent on other events. */
  sequence?: number;
  data: Record<string, unknown>;
}

/** Headers as fetch's Request, Node's http.IncomingMessage or a framework hands them over. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

/**
 * The event, once its signature matches `secret` (`whsec_…`) and its timestamp is within five
 * minutes; throws WebhookVerificationError otherwise. Pass the body exactly as received (the raw
 * string or bytes, not JSON parsed and serialized again: that changes the bytes signed).
 */
export function verifyWebhook(body: string | Uint8Array, headers: WebhookHeaders, secret: string): WebhookEvent {
  let webhook: Webhook;
  try {
    webhook = new Webhook(secret);
  } catch {
    throw new WebhookVerificationError("the webhook secret is not a whsec_… secret");
  }
  try {
    return webhook.verify(body, plainHeaders(headers)) as WebhookEvent;
  } catch (error) {
    if (error instanceof StandardWebhookError) throw new WebhookVerificationError(error.message);
    if (error instanceof SyntaxError) throw new WebhookVerificationError("the signed body is not JSON");
    throw error;
  }
}

function plainHeaders(headers: WebhookHeaders): Record<string, string> {
  const plain: Record<string, string> = {};
  if (typeof Headers !== "undefined" && headers instanceof Headers) {
    headers.forEach((value, name) => {
      plain[name] = value;
    });
    return plain;
  }
  for (const [name, value] of Object.entries(headers)) {
    // Node gives a repeated header as an array; a signature header lists its signatures with spaces.
    if (value !== undefined) plain[name] = Array.isArray(value) ? value.join(" ") : value;
  }
  return plain;
}
