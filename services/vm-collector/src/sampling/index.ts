export {
  type DomainReading,
  type DomainRunState,
  type HostObservation,
  type QemuProcessFacts,
} from './domain-reading';
export { type InstanceIdentity, instanceIdOf } from './instance-id';
export {
  MEMORY_USAGE_MODES,
  type MemoryUsageMode,
  type SampleFactoryOptions,
  memoryUsageOf,
  sampleOf,
} from './sample.factory';
export { type PollResult, SamplingCycle, type SamplingCycleOptions } from './sampling.cycle';
export {
  type DecodedFollowed,
  FOLLOWED_VERSION,
  type FollowedInstance,
  decodeFollowed,
  encodeFollowed,
} from './followed-instances';
