export { CollectorMetrics, type CollectorErrorKind, type PollKind } from './collector.metrics';
export { DOMAIN_SOURCE, VmCollectorService } from './vm-collector.service';
