/**
 * Kafka topic names. The version is part of the name: a breaking schema change is a new
 * topic, so old and new producers and consumers can run side by side during a migration.
 *
 * Keys: samples by resource id (per-resource order, which CPU deltas depend on); usage by
 * tenant id (per-tenant order for the ledger); the DLQ keeps the original message's key.
 */
export const TOPICS = {
  samples: 'metering.samples.v1',
  usage: 'billing.usage.v1',
  samplesDlq: 'metering.samples.dlq.v1',
  /** Invoice facts from billing-api's outbox (key: tenant id). */
  invoices: 'billing.invoices.v1',
} as const;

export type TopicName = (typeof TOPICS)[keyof typeof TOPICS];

/** The `schema` field each event carries; decoders reject any other value. */
export const SCHEMA_VERSIONS = {
  sample: 'metering.sample.v1',
  usage: 'billing.usage.v1',
  dlq: 'metering.dlq.v1',
  invoiceEvent: 'billing.invoices.v1',
} as const;

export type SchemaVersion = (typeof SCHEMA_VERSIONS)[keyof typeof SCHEMA_VERSIONS];
