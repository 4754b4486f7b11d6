// Every failure the client reports is a LisolooError: the API's `detail` and the HTTP status when
// there was an answer. Requests are never part of an error, so an app-key cannot leak through one.
import type { FieldError, MessageStatus } from "./types.js";

/** What the API said: a sentence, or for a request that does not match the schema (422) one entry per problem. */
export type Detail = string | FieldError[];

export class LisolooError extends Error {
  override name = "LisolooError";
  /** The HTTP status of the answer; undefined when there was none (network, timeout, webhook). */
  readonly status: number | undefined;
  readonly detail: Detail;

  constructor(detail: Detail, status?: number) {
    super(status === undefined ? describe(detail) : `${status}: ${describe(detail)}`);
    this.detail = detail;
    this.status = status;
  }
}

/** 400 or 422: the request itself is wrong; sending it again will not help. */
export class InvalidRequestError extends LisolooError {
  override name = "InvalidRequestError";
}

/** 401 or 403: the app-key is missing, unknown or revoked. */
export class AuthenticationError extends LisolooError {
  override name = "AuthenticationError";
}

/** 402: the organization's balance cannot cover the send; nothing was stored or queued. */
export class InsufficientBalanceError extends LisolooError {
  override name = "InsufficientBalanceError";
}

/** 404: unknown, malformed or another organization's id (the API does not tell them apart). */
export class NotFoundError extends LisolooError {
  override name = "NotFoundError";
}

/** 409 after the retries ran out: a send with the same Idempotency-Key is still being processed. */
export class ConflictError extends LisolooError {
  override name = "ConflictError";
}

/** 429 after the retries ran out. */
export class RateLimitError extends LisolooError {
  override name = "RateLimitError";
  /** How long the API asked to wait, when it said (Retry-After), in seconds. */
  readonly retryAfterSeconds: number | undefined;

  constructor(detail: Detail, status: number, retryAfterSeconds: number | undefined) {
    super(detail, status);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** 5xx after the retries ran out. */
export class ServerError extends LisolooError {
  override name = "ServerError";
}

/** No answer: the connection failed or the request timed out, after the retries ran out. */
export class ConnectionError extends LisolooError {
  override name = "ConnectionError";
}

/** waitForDelivery's time ran out before the message reached a final status. */
export class DeliveryTimeoutError extends LisolooError {
  override name = "DeliveryTimeoutError";
  /** The status last read: how far the message got. */
  readonly lastStatus: MessageStatus;

  constructor(detail: string, lastStatus: MessageStatus) {
    super(detail);
    this.lastStatus = lastStatus;
  }
}

/** A webhook whose signature does not match, is missing or is too old (or too new). */
export class WebhookVerificationError extends LisolooError {
  override name = "WebhookVerificationError";
}

/** The error for an HTTP answer that is not a success. */
export function errorForStatus(status: number, detail: Detail, retryAfterSeconds?: number): LisolooError {
  if (status === 400 || status === 422) return new InvalidRequestError(detail, status);
  if (status === 401 || status === 403) return new AuthenticationError(detail, status);
  if (status === 402) return new InsufficientBalanceError(detail, status);
  if (status === 404) return new NotFoundError(detail, status);
  if (status === 409) return new ConflictError(detail, status);
  if (status === 429) return new RateLimitError(detail, status, retryAfterSeconds);
  if (status >= 500) return new ServerError(detail, status);
  return new LisolooError(detail, status);
}

function describe(detail: Detail): string {
  if (typeof detail === "string") return detail;
  return detail.map((problem) => `${problem.loc.join(".")}: ${problem.msg}`).join("; ");
}
