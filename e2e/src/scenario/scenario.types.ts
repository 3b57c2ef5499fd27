import {
  type CloseJson,
  type InvoiceJson,
  type UsageJson,
  type UsageResourceJson,
} from '../billing-documents';
import { type PlanSpec } from '../plan-arithmetic';
import { type ContainerAccount } from '../workloads/tenant-containers';
import { type DomainAccount } from '../workloads/tenant-domain';

// What the acceptance scenario is told (ScenarioOptions), sets up (TenantSetup) and observes
// (everything else): the spec judges these and the demo prints them.

export interface ScenarioOptions {
  /** How long the workloads run before they are stopped and compared. */
  readonly runSeconds: number;
  /** The short-lived container starts this long after the others and lives `shortLivedSeconds`. */
  readonly shortLivedAfterSeconds: number;
  readonly shortLivedSeconds: number;
  /** The memory holder keeps this much in a tmpfs (its working set, give or take the shell). */
  readonly heldMib: number;
  /** Where the final invoices (JSON, CSV, PDF) are written, from the scenario's name. */
  readonly outDirOf: (scenarioName: string) => string;
  /** How often the live draft is reported while the workloads run (0: never). */
  readonly draftEverySeconds: number;
  readonly onProgress: (line: string) => void;
}

export interface TenantSetup {
  readonly key: 'a' | 'b';
  readonly id: string;
  readonly name: string;
  readonly timeZone: string;
  readonly currency: string;
  readonly period: string;
  readonly plan: PlanSpec;
  /** The tenant's own API key (issued by the billing API, shown once). */
  apiKey: string;
}

export interface ScenarioTenants {
  readonly a: TenantSetup;
  readonly b: TenantSetup;
}

/** The kernel's (or libvirt's) own account of a tenant, read by the scenario itself. */
export interface KernelAccount {
  readonly source: string;
  readonly cpuCoreSeconds: number;
  readonly memoryGibSeconds: number;
}

export interface InfluxTotals {
  readonly cpuCoreSeconds: number;
  readonly memoryGibSeconds: number;
  readonly amount: number;
}

/** The "Tenant usage & charges" dashboard's panels, as Grafana would run them now. */
export interface PanelFigures {
  readonly monthToDateCharges: number | null;
  readonly monthToDateCpuHours: number | null;
  readonly monthToDateMemoryGibHours: number | null;
  readonly cpuCoreHours: number;
  readonly memoryGibHours: number;
  readonly charges: number;
  readonly topResources: ReadonlyMap<
    string,
    { readonly cpuHours: number; readonly memoryGibHours: number; readonly charges: number }
  >;
  /** The queries as sent, for a failure message or a curious reader. */
  readonly queries: readonly string[];
}

export interface FinalDocuments {
  readonly json: InvoiceJson;
  readonly csv: string;
  readonly pdfText: string;
  readonly pdfPath: string;
}

/** HTTP statuses: this tenant's key on its own invoice, on the other's; the admin key. */
export interface AccessStatuses {
  readonly own: number;
  readonly other: number;
  readonly admin: number;
}

export interface TenantOutcome {
  readonly setup: TenantSetup;
  readonly kernel: KernelAccount;
  /** The draft after the run, once every sample was rated. */
  readonly draft: InvoiceJson;
  readonly usage: UsageJson;
  /** The month's resources with their names (`by=resource`). */
  readonly resources: readonly UsageResourceJson[];
  /** Σ usage_bucket_charge.amount in the ledger: what InfluxDB's charges come from. */
  readonly ledgerAmount: string;
  readonly influx: InfluxTotals;
  readonly panels: PanelFigures;
  readonly final: FinalDocuments;
  readonly access: AccessStatuses;
}

/** What `measureTenant` reads before the month is closed. */
export type TenantMeasurement = Omit<TenantOutcome, 'setup' | 'final' | 'access'>;

export interface ScenarioResult {
  readonly name: string;
  readonly tenants: { readonly a: TenantOutcome; readonly b: TenantOutcome };
  readonly containers: readonly ContainerAccount[];
  readonly domain: DomainAccount;
  /** Statuses of the live drafts read while the workloads ran. */
  readonly liveDraftStatuses: readonly string[];
  /** What did not settle in time after the freeze (empty when all was rated). */
  readonly settleProblems: readonly string[];
  readonly closes: readonly CloseJson[];
  readonly testClockStart: string;
  readonly seconds: { readonly run: number; readonly total: number };
}
