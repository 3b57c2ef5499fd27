export { SCHEMA_VERSIONS, type SchemaVersion, TOPICS, type TopicName } from './topics';
export {
  type Inferred,
  INFERRED_REASONS,
  InferredSchema,
  type Lifecycle,
  LifecycleSchema,
  type ResourceKind,
  ResourceKindSchema,
  type SampleEvent,
  SampleEventSchema,
  SAMPLE_LIMITS,
  type SampleSource,
  SampleSourceSchema,
  sampleKey,
} from './sample.event';
export { canonicalSample, isSampleValid } from './sample.check';
export { type UsageEvent, UsageEventSchema, usageKey } from './usage.event';
export {
  type DlqBytesDigest,
  type DlqEvent,
  type DlqEventInput,
  DlqEventSchema,
  digestOf,
  dlqEventOf,
} from './dlq.event';
export {
  type DecodeErrorCode,
  type DecodeFailure,
  type DecodeResult,
  type MessageBytes,
  decodeDlq,
  decodeInvoiceEvent,
  decodeSample,
  decodeUsage,
  validateDlq,
  validateInvoiceEvent,
  validateSample,
  validateUsage,
} from './decode';
export { encode, encodeDlq, encodeInvoiceEvent, encodeSample, encodeUsage } from './encode';
export {
  INVOICE_EVENT_LIMITS,
  INVOICE_EVENT_TYPES,
  type InvoiceEvent,
  type InvoiceEventOf,
  InvoiceEventSchema,
  type InvoiceEventType,
  invoiceEventIdOf,
  invoiceEventKey,
} from './invoice.event';
export { isPrintableText, utf8ByteLength } from './primitives.schema';
export { ContractViolationError } from './contract.errors';
export { type SampleIdentity, type UsageIdentity, sampleIdOf, usageIdOf } from './event-id';
export {
  DEFAULT_SIGNATURE_TOLERANCE_SECONDS,
  signWebhookPayload,
  verifyWebhookSignature,
  type VerifyWebhookOptions,
  WEBHOOK_SIGNATURE_HEADER,
  WebhookSignatureError,
  type WebhookSignatureErrorCode,
  webhookSignatureHeader,
} from './webhook-signature';
export {
  HOST_AUTH_HEADER,
  HOST_KEY_ID,
  type HostAuthFailure,
  type HostAuthResult,
  type HostKey,
  type HostKeyLookup,
  MAX_HOST_AUTH_HEADER_BYTES,
  MIN_HOST_SECRET_BYTES,
  deriveHostKey,
  hostAuthHeader,
  hostKeyLine,
  masterKeyLookup,
  parseHostKeyFile,
  verifyHostAuth,
} from './host-auth';
