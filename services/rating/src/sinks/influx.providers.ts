import { type Provider } from '@nestjs/common';
import { type Logger, MetricsRegistry, ROOT_LOGGER } from '@metering/observability';
import { type RatingConfig } from '../config';
import { RATING_LOGGER } from '../connections.providers';
import { type CommittedBatchSink } from '../consuming/sample-batch.processor';
import { TenantCatalog } from '../pricing/tenant-catalog';
import { InfluxOutputs, NO_INFLUX } from './influx-outputs';
import { InfluxSink } from './influx.sink';
import { InfluxHttpWriter } from './influx.writer';

/** The InfluxDB sink (InfluxSink), or null when INFLUX_API is off. */
export const INFLUX_SINK = Symbol('INFLUX_SINK');
/** Where committed batches and priced months go for InfluxDB (CommittedBatchSink). */
export const COMMITTED_SINK = Symbol('COMMITTED_SINK');

/** The InfluxDB sink (INFLUX_API) and what committed batches give it; NO_INFLUX without. */
export function influxProviders(config: RatingConfig): Provider[] {
  return [
    {
      provide: INFLUX_SINK,
      useFactory: (metrics: MetricsRegistry, root: Logger, logger: Logger): InfluxSink | null => {
        if (config.influx.target === null) return null;
        const writer = new InfluxHttpWriter(config.influx.target, config.influx.timeoutMs);
        const sink = new InfluxSink(
          writer,
          {
            batchSize: config.influx.batchSize,
            flushIntervalMs: config.influx.flushIntervalMs,
            maxBufferedPoints: config.influx.maxBufferedPoints,
            retryMaxDelayMs: config.influx.retryMaxDelayMs,
          },
          metrics,
          root,
        );
        logger.info({ influx: writer.description }, 'InfluxDB sink on');
        return sink;
      },
      inject: [MetricsRegistry, ROOT_LOGGER, RATING_LOGGER],
    },
    {
      provide: COMMITTED_SINK,
      useFactory: (
        influx: InfluxSink | null,
        catalog: TenantCatalog,
        root: Logger,
      ): CommittedBatchSink =>
        influx === null
          ? NO_INFLUX
          : new InfluxOutputs(influx, catalog, config.influx.resourceGauges, root),
      inject: [INFLUX_SINK, TenantCatalog, ROOT_LOGGER],
    },
  ];
}
