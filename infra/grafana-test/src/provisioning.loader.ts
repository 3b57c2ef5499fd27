import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { PROVISIONING_DIR } from './dashboard.loader';

/** A datasource of a Grafana provisioning file (the fields these tests read). */
export interface ProvisionedDatasource {
  name: string;
  uid: string;
  type: string;
  access?: string;
  url: string;
  isDefault?: boolean;
  jsonData?: Record<string, unknown>;
}

export interface DatasourcesFile {
  apiVersion: number;
  datasources: ProvisionedDatasource[];
}

export interface DashboardProvider {
  name: string;
  type: string;
  folder?: string;
  disableDeletion?: boolean;
  allowUiUpdates?: boolean;
  options: { path: string };
}

export interface ProvidersFile {
  apiVersion: number;
  providers: DashboardProvider[];
}

export interface YamlFile<T> {
  readonly file: string;
  readonly text: string;
  readonly doc: T;
}

function loadYaml<T>(dir: string): YamlFile<T>[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .map((file) => {
      const text = readFileSync(join(dir, file), 'utf8');
      return { file, text, doc: parse(text) as T };
    });
}

export const loadDatasourceFiles = (dir = join(PROVISIONING_DIR, 'datasources')) =>
  loadYaml<DatasourcesFile>(dir);

export const loadProviderFiles = (dir = join(PROVISIONING_DIR, 'dashboards')) =>
  loadYaml<ProvidersFile>(dir);

/** `${NAME}` references Grafana expands from its environment when it reads provisioning. */
export function envReferences(text: string): string[] {
  return [...new Set([...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1] ?? ''))];
}
