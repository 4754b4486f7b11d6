// Names for the generated types (src/schema.ts, from openapi.json): what the client takes and
// returns is exactly what the API documents, so a change to the API changes these with it.
import type { components, operations } from "./schema.js";

type Schemas = components["schemas"];
type Query<Operation extends keyof operations> = NonNullable<operations[Operation]["parameters"]["query"]>;

export type SendRequest = Schemas["SendRequest"];
export type SendAccepted = Schemas["SendAccepted"];
export type SendQuote = Schemas["SendQuote"];
export type MessageStatus = Schemas["MessageStatus"];
export type RecipientState = Schemas["RecipientState"];
export type MessageSummary = Schemas["MessageSummary"];
export type LoggedEvent = Schemas["LoggedEventView"];
export type InboundMessage = Schemas["InboundMessageView"];
export type Suppression = Schemas["Suppression"];
export type SuppressionRemoved = Schemas["SuppressionRemoved"];
export type BulkSuppressed = Schemas["BulkSuppressed"];
export type Balance = Schemas["Balance"];
export type EventRedelivery = Schemas["EventRedelivery"];
export type WebhookDelivery = Schemas["DeliveryAttemptView"];
export type ScheduleCancelled = Schemas["ScheduleCancelled"];
export type MessagesPage = Schemas["MessagesPage"];
export type EventsPage = Schemas["EventsPage"];
export type InboundPage = Schemas["InboundPage"];
export type SuppressionPage = Schemas["SuppressionPage"];
export type WebhookDeliveriesPage = Schemas["DeliveriesPage"];
export type SmsStatus = Schemas["SmsStatus"];
/** One entry of a 422's `detail` list. */
export type FieldError = Schemas["ValidationError"];

export type StatusQuery = Omit<Query<"status_api_v1_lisoloo_sms_api_status__message_id__get">, "recipients_cursor">;
export type MessagesQuery = Omit<Query<"messages_api_v1_lisoloo_sms_api_messages_get">, "cursor">;
export type EventsQuery = Query<"events_api_v1_lisoloo_sms_api_events_get">;
export type InboundQuery = Omit<Query<"show_api_v1_lisoloo_sms_api_inbound_get">, "cursor">;
export type SuppressionsQuery = Omit<Query<"show_api_v1_lisoloo_sms_api_suppressions_get">, "cursor">;
export type WebhookDeliveriesQuery = Omit<Query<"deliveries_api_v1_lisoloo_sms_api_webhook_deliveries_get">, "cursor">;
