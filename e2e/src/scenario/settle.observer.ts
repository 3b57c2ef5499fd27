import { type ServicePipeline, metricValue } from '@metering/pipeline-harness';
import { waitFor } from '@metering/testing';

/** Cycles the docker collector has completed (its cycle histogram's count). */
export async function dockerCycles(pipeline: ServicePipeline): Promise<number> {
  const text = await pipeline.metrics('docker-collector');
  return metricValue(text, /^docker_collector_cycle_duration_seconds_count(\{|$)/) ?? 0;
}

/**
 * Waits until everything the run produced is in the ledger, by events rather than by time:
 * (1) rating has the final sample of every resource in `resourceIds` (tenant A's containers and
 * the domain); (2) the docker collector ran 3 cycles after the last container died (the parent's
 * residual is evaluated on the previous cycle's reading, so 2 are needed: ADR 3); (3) both
 * collectors' spools are empty (Kafka acknowledged every sample); (4) rating committed the topic
 * up to its end at that moment; (5) rating's pricing stage priced all of it. Returns what did
 * not happen in time.
 */
export async function settle(
  pipeline: ServicePipeline,
  resourceIds: readonly string[],
  cyclesAtDeath: number,
): Promise<string[]> {
  const problems: string[] = [];
  const step = async (description: string, probe: () => Promise<boolean>) => {
    await waitFor(probe, { timeoutMs: 60_000, intervalMs: 250, description }).catch(
      (error: unknown) => problems.push(error instanceof Error ? error.message : String(error)),
    );
  };
  const ids = [...resourceIds];
  await step('final samples of every container and of the domain in the ledger', async () => {
    const rows = await pipeline.sql<{ resource_id: string }>(
      'SELECT DISTINCT resource_id FROM instance_state WHERE final AND resource_id = ANY($1)',
      [ids],
    );
    return rows.length === ids.length;
  });
  await step('3 docker-collector cycles after the containers died', async () => {
    return (await dockerCycles(pipeline)) >= cyclesAtDeath + 3;
  });
  await step('both collectors acknowledged by Kafka (spools empty)', async () => {
    const docker = await pipeline.metrics('docker-collector');
    const vm = await pipeline.metrics('vm-collector');
    return (
      metricValue(docker, /^docker_collector_spool_depth(\{|$)/) === 0 &&
      metricValue(vm, /^vm_collector_publisher_depth(\{|$)/) === 0
    );
  });
  const ends = await pipeline.sampleTopicEnds();
  await step('rating committed the samples topic up to its end', () => pipeline.ratedUpTo(ends));
  // Charges lag quantities by the pricing stage (docs/adr/0014-rating-scale-out.md).
  await step('rating priced everything it committed', async () => {
    const rows = await pipeline.sql<{ n: string }>(
      'SELECT count(*)::text AS n FROM rating_unpriced_usage',
    );
    return rows[0]?.n === '0';
  });
  return problems;
}
