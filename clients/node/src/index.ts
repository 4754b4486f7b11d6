export { Lisoloo, type LisolooOptions, type SendOptions, type WaitOptions } from "./client.js";
export {
  AuthenticationError,
  ConflictError,
  ConnectionError,
  type Detail,
  InsufficientBalanceError,
  InvalidRequestError,
  LisolooError,
  NotFoundError,
  RateLimitError,
  ServerError,
  DeliveryTimeoutError,
  WebhookVerificationError,
} from "./errors.js";
export { verifyWebhook, type WebhookEvent, type WebhookHeaders } from "./webhooks.js";
export type * from "./types.js";
export type { components, operations, paths } from "./schema.js";
