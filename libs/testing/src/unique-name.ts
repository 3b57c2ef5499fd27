import { randomBytes } from 'node:crypto';

/**
 * A name unique to this test run, safe as a Kafka topic, consumer group, PostgreSQL schema,
 * InfluxDB database, container or domain name: lowercase letters, digits and underscores.
 */
export function uniqueName(prefix: string): string {
  const clean = prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  return `${clean}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}
