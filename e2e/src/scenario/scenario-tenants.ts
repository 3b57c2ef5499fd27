import { type ScenarioTenants } from './scenario.types';

// The scenario's fixtures: its two tenants, their plans and zones, and the test clock that lets
// billing-api close their month.

export const GIB = 2 ** 30;

/** "2026-11" of an instant in a zone. */
function localMonth(ms: number, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
  }).formatToParts(ms);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}`;
}

/**
 * The first zone in which [fromMs, toMs] lies within one billing month: a run never straddles a
 * month end (its usage would land on two invoices), whatever the hour it starts at.
 */
function zoneKeepingMonth(candidates: readonly string[], fromMs: number, toMs: number): string {
  const zone = candidates.find((z) => localMonth(fromMs, z) === localMonth(toMs, z));
  if (zone === undefined) throw new Error(`every zone of ${candidates.join(', ')} changes month`);
  return zone;
}

/** The 10th of the month after `period`, 00:00 UTC: past its end in every zone plus 2 days. */
export function closableTestClock(period: string): Date {
  const [year, month] = period.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(year, month, 10));
}

/**
 * Tenant A (containers; EUR, graduated CPU and memory, minimum 0.25) and tenant B (a KVM domain;
 * INR, memory only, minimum 500.00), named after the scenario, each in a zone whose month does
 * not end within 15 minutes of `startedAtMs` (the whole scenario fits in that by far).
 */
export function scenarioTenants(name: string, startedAtMs: number): ScenarioTenants {
  const until = startedAtMs + 15 * 60_000;
  const zoneA = zoneKeepingMonth(['UTC', 'Asia/Kolkata', 'America/New_York'], startedAtMs, until);
  const zoneB = zoneKeepingMonth(['Asia/Kolkata', 'America/New_York', 'UTC'], startedAtMs, until);
  const a = `${name}-a`;
  const b = `${name}-b`;
  return {
    a: {
      key: 'a',
      id: a,
      name: 'Tenant A (containers)',
      timeZone: zoneA,
      currency: 'EUR',
      period: localMonth(startedAtMs, zoneA),
      apiKey: '',
      plan: {
        id: `${a}-cpu-mem`,
        currency: 'EUR',
        basis: 'usage',
        cpu: {
          tiers: [
            { upTo: '0.002', unitPrice: '36.00' },
            { upTo: '0.006', unitPrice: '24.00' },
            { upTo: null, unitPrice: '12.00' },
          ],
        },
        memory: {
          tiers: [
            { upTo: '0.0005', unitPrice: '400.00' },
            { upTo: null, unitPrice: '250.00' },
          ],
        },
        minimum: '0.25',
      },
    },
    b: {
      key: 'b',
      id: b,
      name: 'Tenant B (KVM)',
      timeZone: zoneB,
      currency: 'INR',
      period: localMonth(startedAtMs, zoneB),
      apiKey: '',
      plan: {
        id: `${b}-mem`,
        currency: 'INR',
        basis: 'usage',
        memory: { tiers: [{ upTo: null, unitPrice: '30000.00' }] },
        minimum: '500.00',
      },
    },
  };
}
