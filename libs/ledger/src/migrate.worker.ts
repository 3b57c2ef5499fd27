import 'reflect-metadata';
import { parentPort, workerData } from 'node:worker_threads';
import { migrateLedgerForApp } from './ledger.data-source';
import { type LedgerMigrationOptions, type MigrateAnswer } from './ledger-pool';

// The worker of migrateLedgerInWorker (ledger-pool.ts): migrates the ledger with TypeORM in an
// isolate of its own, answers once, and ends.

async function run(): Promise<MigrateAnswer> {
  try {
    return { ok: true, applied: await migrateLedgerForApp(workerData as LedgerMigrationOptions) };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

void run().then((answer) => parentPort?.postMessage(answer));
