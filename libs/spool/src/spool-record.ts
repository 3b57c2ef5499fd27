import { type Lifecycle } from '@metering/contracts';

/** What a caller appends: the Kafka key and value, and the lifecycle thinning looks at. */
export interface SpoolRecordInput {
  key: Buffer;
  value: Buffer;
  lifecycle: Lifecycle;
}

/** A record as stored: with its spool sequence number and when it was appended. */
export interface SpoolRecord extends SpoolRecordInput {
  /** Strictly increasing over the life of the spool directory (gaps where records were thinned). */
  seq: number;
  /** Epoch milliseconds. */
  appendedAt: number;
}
