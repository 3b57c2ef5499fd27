import { hash } from 'node:crypto';
import { SCHEMA_VERSIONS } from '@metering/contracts';
import { type PricedUsage, amount, coreSeconds, gibSeconds } from '../domain';
import { NO_PLAN } from './usage-event.factory';

/**
 * The JSON of `usageEventOf(u, ratedAt)`, written directly: the same fields, in the same order,
 * with the same usage id (libs/contracts' usageIdOf: sha256 of the JSON array of its identity),
 * without building and walking an object per event. One event per rated interval is the hottest
 * output of rating; usage-event.encoder.spec.ts holds this to usageEventOf and usageIdOf.
 */
export function encodeUsageEvent(u: PricedUsage, ratedAtJson: string): string {
  const start = new Date(u.fromMs).toISOString();
  const end = new Date(u.toMs).toISOString();
  const tenant = JSON.stringify(u.tenantId);
  const resource = JSON.stringify(u.resourceId);
  const instance = JSON.stringify(u.instanceId);
  const usageId = hash(
    'sha256',
    `["${SCHEMA_VERSIONS.usage}",${tenant},"${u.resourceKind}",${resource},${instance},"${start}","${end}"]`,
  );
  const plan =
    u.plan === null
      ? `"planId":"${NO_PLAN.id}","planVersion":${NO_PLAN.version}`
      : `"planId":${JSON.stringify(u.plan.id)},"planVersion":${u.plan.version}`;
  return (
    `{"schema":"${SCHEMA_VERSIONS.usage}","usageId":"${usageId}","tenantId":${tenant},` +
    `"resource":{"kind":"${u.resourceKind}","id":${resource},"instanceId":${instance}},` +
    `"interval":{"start":"${start}","end":"${end}"},` +
    `"cpuCoreSeconds":"${coreSeconds(u.cpuUsage)}","memoryGibSeconds":"${gibSeconds(u.memoryUsage)}",` +
    `"amounts":{"currency":${JSON.stringify(u.currency)},"cpu":"${amount(u.cpuAmount)}",` +
    `"memory":"${amount(u.memoryAmount)}","total":"${amount(u.cpuAmount + u.memoryAmount)}"},` +
    `${plan},"ratedAt":${ratedAtJson},"period":"${u.period}","basis":"${u.basis}",` +
    `"priced":{"cpuCoreSeconds":"${coreSeconds(u.cpuPriced)}","memoryGibSeconds":"${gibSeconds(u.memoryPriced)}"},` +
    `"planAssigned":${u.plan !== null},"gap":${u.gap}}`
  );
}
