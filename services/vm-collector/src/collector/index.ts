export { CollectorMetrics, type CollectorErrorKind, type PollKind } from './collector.metrics';
export {
  COLLECTOR_CLOCK,
  DOMAIN_SOURCE,
  FOLLOWED_STORE,
  type ReadingClock,
  VmCollectorService,
} from './vm-collector.service';
