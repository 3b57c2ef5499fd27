import { type ServicePipeline } from '@metering/pipeline-harness';
import { type ScenarioTenants } from './scenario.types';

/**
 * The pipeline up: topics, billing-api (on the test clock), the tenants with their plans and API
 * keys (`apiKey` filled in), then rating and both collectors sampling every second.
 */
export async function startPipeline(
  p: ServicePipeline,
  tenants: ScenarioTenants,
  testClockStart: Date,
  progress: (line: string) => void,
): Promise<void> {
  progress(`pipeline ${p.name}: topics, then billing-api, rating and both collectors`);
  await p.prepare();
  await p.startBillingApi({
    TEST_CLOCK_START: testClockStart.toISOString(),
    PROVIDER_NAME: 'Metering e2e',
  });
  // Rating must know the tenants and plans before their first sample: register them first.
  for (const t of [tenants.a, tenants.b]) {
    await p.api('POST', '/v1/tenants', {
      body: { id: t.id, name: t.name, timeZone: t.timeZone, currency: t.currency },
    });
    await p.api('POST', '/v1/price-plans', { body: t.plan });
    // Well before this month: the plan covers the whole month (so does its minimum).
    await p.api('PUT', `/v1/tenants/${t.id}/plan`, {
      body: { planId: t.plan.id, effectiveFrom: '2020-01-01T00:00:00Z' },
    });
    t.apiKey = (await p.api<{ key: string }>('POST', `/v1/tenants/${t.id}/api-keys`)).key;
    progress(
      `tenant ${t.id}: ${t.name}, ${t.timeZone}, ${t.currency}, plan ${t.plan.id}` +
        ` (${t.plan.cpu === undefined ? 'memory only' : 'CPU and memory, graduated'})`,
    );
  }
  await p.startRating();
  const collector = { SAMPLE_INTERVAL_MS: '1000', DEFAULT_TENANT: `${p.name}-unlabelled` };
  await p.startDockerCollector({ ...collector, HOST_NAME: `${p.name}-docker-host` });
  await p.startVmCollector({
    ...collector,
    HOST_NAME: `${p.name}-kvm-host`,
    POLL_INTERVAL_MS: '250',
  });
  progress(
    `services up; billing API at ${p.billingUrl} (test clock ${testClockStart.toISOString()})`,
  );
}
