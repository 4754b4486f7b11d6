// The client: one method per thing a merchant does, typed by the generated schema. Requests go
// through Transport (retries, errors); listings are async iterators over every page.
import { DeliveryTimeoutError } from "./errors.js";
import { Transport } from "./http.js";
import { paginate, type Page } from "./pagination.js";
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./retry.js";
import type {
  Balance,
  BulkSuppressed,
  EventRedelivery,
  EventsPage,
  EventsQuery,
  InboundMessage,
  InboundPage,
  InboundQuery,
  LoggedEvent,
  MessageStatus,
  MessagesPage,
  MessagesQuery,
  MessageSummary,
  RecipientState,
  ScheduleCancelled,
  SendAccepted,
  SendQuote,
  SendRequest,
  StatusQuery,
  Suppression,
  SuppressionPage,
  SuppressionRemoved,
  SuppressionsQuery,
  WebhookDeliveriesPage,
  WebhookDeliveriesQuery,
  WebhookDelivery,
} from "./types.js";
import { verifyWebhook } from "./webhooks.js";

export interface LisolooOptions {
  /** The organization's app-key (`lsk_…`). */
  appKey: string;
  /** The API's base URL, path included: `https://…/prod/api/v1/lisoloo/sms-api` (make run prints the local one). */
  baseUrl: string;
  /** Each attempt's limit, in milliseconds (default 30 s). */
  timeoutMs?: number;
  /** Attempts after the first, on 429, 5xx and no answer (default 3); 0 turns retrying off. */
  maxRetries?: number;
  /** Another fetch (a proxy agent's, a test double's); the global one by default. */
  fetch?: typeof fetch;
}

export interface SendOptions {
  /** Your own key, to make a send safe to repeat across restarts; one is made per call otherwise. */
  idempotencyKey?: string;
}

export interface WaitOptions {
  /** How long to wait for a final status, in milliseconds (default 60 s). */
  timeoutMs?: number;
  /** How often to ask, in milliseconds (default 1 s). */
  intervalMs?: number;
}

/** Statuses a message never leaves (DESIGN §3: the aggregate is final once every recipient is). */
const FINAL_STATUSES: ReadonlySet<string> = new Set(["delivered", "failed"]);

export class Lisoloo {
  readonly #http: Transport;
  /** Webhook verification; needs no app-key, only the signing secret. */
  readonly webhooks = { verify: verifyWebhook } as const;

  constructor(options: LisolooOptions) {
    const retry: RetryPolicy = {
      ...DEFAULT_RETRY_POLICY,
      maxRetries: options.maxRetries ?? DEFAULT_RETRY_POLICY.maxRetries,
    };
    this.#http = new Transport({
      appKey: options.appKey,
      baseUrl: options.baseUrl,
      timeoutMs: options.timeoutMs ?? 30_000,
      retry,
      fetch: options.fetch,
    });
  }

  /**
   * POST /send. Every call carries an Idempotency-Key, the same on each of its retries, so a
   * retried send is sent once however the first attempt failed.
   */
  send(request: SendRequest & { dry_run: true }, options?: SendOptions): Promise<SendQuote>;
  send(request: SendRequest, options?: SendOptions): Promise<SendAccepted>;
  send(request: SendRequest, options: SendOptions = {}): Promise<SendAccepted | SendQuote> {
    const idempotencyKey = options.idempotencyKey ?? crypto.randomUUID();
    return this.#http.request("POST", "/send", { body: request, headers: { "Idempotency-Key": idempotencyKey } });
  }

  /** GET /status/{message_id}: counters and the first page of recipients (see recipients()). */
  status(messageId: string, query: StatusQuery = {}): Promise<MessageStatus> {
    return this.#http.request("GET", `/status/${encodeURIComponent(messageId)}`, { query });
  }

  /** Polls status until the message is final (`delivered` or `failed`); DeliveryTimeoutError if it is not in time. */
  async waitForDelivery(messageId: string, options: WaitOptions = {}): Promise<MessageStatus> {
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    const intervalMs = options.intervalMs ?? 1_000;
    for (;;) {
      const status = await this.status(messageId, { recipients_limit: 1 });
      if (FINAL_STATUSES.has(status.status)) return status;
      if (Date.now() + intervalMs > deadline) {
        throw new DeliveryTimeoutError(
          `message ${messageId} is still ${status.status} (${status.pending} pending)`,
          status,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }

  /** Every recipient of a message, in order, `pageSize` a request (up to 1,000). */
  recipients(messageId: string, { pageSize = 100 }: { pageSize?: number } = {}): AsyncGenerator<RecipientState> {
    return paginate(async (cursor): Promise<Page<RecipientState>> => {
      const query = { recipients_limit: pageSize, recipients_cursor: cursor };
      const page = await this.#http.request<MessageStatus>("GET", `/status/${encodeURIComponent(messageId)}`, {
        query,
      });
      return { items: page.recipients, next: page.recipients_cursor ?? null };
    });
  }

  /** GET /messages, newest first, every page. */
  messages(query: MessagesQuery = {}): AsyncGenerator<MessageSummary> {
    return paginate(async (cursor) => {
      const page = await this.#http.request<MessagesPage>("GET", "/messages", {
        query: { ...query, cursor },
      });
      return { items: page.messages, next: page.cursor ?? null };
    });
  }

  /** GET /events, oldest first, after a position (`after`), until the log's end. */
  events(query: EventsQuery = {}): AsyncGenerator<LoggedEvent> {
    return paginate(async (after) => {
      const page = await this.#http.request<EventsPage>("GET", "/events", {
        query: { ...query, after },
      });
      return { items: page.events, next: page.has_more ? (page.after ?? null) : null };
    }, query.after ?? null);
  }

  /** GET /inbound: replies and other texts to your numbers, every page. */
  inbound(query: InboundQuery = {}): AsyncGenerator<InboundMessage> {
    return paginate(async (cursor) => {
      const page = await this.#http.request<InboundPage>("GET", "/inbound", {
        query: { ...query, cursor },
      });
      return { items: page.inbound, next: page.cursor ?? null };
    });
  }

  /** GET /suppressions: the numbers no send reaches, every page. */
  suppressions(query: SuppressionsQuery = {}): AsyncGenerator<Suppression> {
    return paginate(async (cursor) => {
      const page = await this.#http.request<SuppressionPage>("GET", "/suppressions", { query: { ...query, cursor } });
      return { items: page.suppressions, next: page.cursor ?? null };
    });
  }

  /** PUT /suppressions/{number}: sends to it fail 1406 until it is removed. */
  addSuppression(number: string, reason?: string): Promise<Suppression> {
    return this.#http.request("PUT", `/suppressions/${encodeURIComponent(number)}`, {
      body: { reason: reason ?? null },
    });
  }

  /** POST /suppressions: up to 10,000 numbers at once. */
  addSuppressions(numbers: string[], reason?: string): Promise<BulkSuppressed> {
    return this.#http.request("POST", "/suppressions", { body: { numbers, reason: reason ?? null } });
  }

  /** DELETE /suppressions/{number}: sends reach it again. */
  removeSuppression(number: string): Promise<SuppressionRemoved> {
    return this.#http.request("DELETE", `/suppressions/${encodeURIComponent(number)}`);
  }

  /** GET /balance. */
  balance(): Promise<Balance> {
    return this.#http.request("GET", "/balance");
  }

  /** POST /events/{event_id}/redeliver: the same bytes and webhook-id, to today's targets. */
  redeliver(eventId: string): Promise<EventRedelivery> {
    return this.#http.request("POST", `/events/${encodeURIComponent(eventId)}/redeliver`);
  }

  /** GET /webhook/deliveries: each delivery attempt, newest first, every page. */
  webhookDeliveries(query: WebhookDeliveriesQuery = {}): AsyncGenerator<WebhookDelivery> {
    return paginate(async (cursor) => {
      const page = await this.#http.request<WebhookDeliveriesPage>("GET", "/webhook/deliveries", {
        query: { ...query, cursor },
      });
      return { items: page.deliveries, next: page.cursor ?? null };
    });
  }

  /** DELETE /schedules/{schedule_id}: the occurrences not released yet are removed. */
  cancelSchedule(scheduleId: string): Promise<ScheduleCancelled> {
    return this.#http.request("DELETE", `/schedules/${encodeURIComponent(scheduleId)}`);
  }
}
