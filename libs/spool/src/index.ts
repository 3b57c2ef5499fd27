export { DiskSpool, type AppendResult, type DiskSpoolOptions } from './disk-spool';
export {
  SpooledPublisher,
  type SpoolHealth,
  type SpoolHealthStatus,
  type SpooledPublisherOptions,
} from './spooled-publisher';
export {
  SAMPLE_PUBLISHER,
  type SamplePublisher,
  type SamplePublisherDeps,
  type SamplePublisherSettings,
  SpooledSamplePublisher,
  type SpooledSamplePublisherOptions,
  startSamplePublisher,
} from './sample-publisher';
export {
  kafkaSpoolProducer,
  type KafkaSpoolProducerOptions,
  type SpoolMessage,
  type SpoolProducer,
  type SpoolProducerFactory,
} from './spool-producer';
export {
  collectorPublishingFromEnv,
  type CollectorPublishingConfig,
} from './sample-publisher.config';
export { type SpoolRecord, type SpoolRecordInput } from './spool-record';
export {
  FSYNC_POLICIES,
  SPOOL_DEFAULTS,
  resolveSpoolSettings,
  spoolSettingsFromEnv,
  type DiskSpoolSettings,
  type FsyncPolicy,
  type PublisherSettings,
  type SpoolSettings,
} from './spool.config';
export { SpoolMetrics, type DropReason } from './spool.metrics';
export {
  AckBeyondDepthError,
  PublisherClosedError,
  RecordTooLargeError,
  SpoolClosedError,
  SpoolConfigError,
  SpoolCorruptError,
  SpoolError,
  SpoolLockedError,
  type SpoolErrorCode,
} from './spool.errors';
export {
  COLLECTOR_CLOCK_DEFAULTS,
  CollectorClock,
  type ClockStep,
  type ClockStepDirection,
  type CollectorClockOptions,
  type MonotonicClock,
  type WallClock,
} from './collector-clock';
export { observedCollectorClock, type ObservedClockOptions } from './collector-clock.factory';
export { hostSigner } from './host-signer';
export { StateFile, type StateFileRead } from './state-file';
export { type ThinCandidate, type ThinDecision, type ThinMarker, planThinning } from './thin-plan';
export { sampleThinMarker } from './sample-thin-marker';
