import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port';

const run = promisify(execFile);

/** The repository root, from libs/testing/dist/src. */
const REPO_ROOT = resolve(__dirname, '../../../..');
const SHARED_STACK = process.env.STACK_DIR ?? join(REPO_ROOT, '.stack');

/**
 * A Kafka broker of this test's own, on free loopback ports with its state in a temporary
 * folder, so a test can stop it without touching the shared one on 9092. It reuses the
 * shared stack's jars. start() after stop() keeps the data (same folder).
 */
export class SecondKafkaBroker {
  private constructor(
    readonly stackDir: string,
    readonly port: number,
    readonly controllerPort: number,
  ) {}

  static async create(label = 'test'): Promise<SecondKafkaBroker> {
    const stackDir = await mkdtemp(join(tmpdir(), `${label}-broker-`));
    const port = await freePort();
    let controllerPort = await freePort();
    while (controllerPort === port) controllerPort = await freePort();
    return new SecondKafkaBroker(stackDir, port, controllerPort);
  }

  get brokers(): string[] {
    return [`127.0.0.1:${this.port}`];
  }

  /** Returns once the broker answers a produce/consume round trip. */
  async start(): Promise<void> {
    await this.script('start');
  }

  /** TERM, then KILL after 30 s; returns once the process is gone. */
  async stop(): Promise<void> {
    await this.script('stop');
  }

  /** Stops the broker (if running) and deletes its folder. Safe to call twice. */
  async dispose(): Promise<void> {
    try {
      await this.stop();
    } finally {
      await rm(this.stackDir, { recursive: true, force: true });
    }
  }

  private async script(action: 'start' | 'stop'): Promise<void> {
    try {
      await run('bash', [join(REPO_ROOT, 'infra/local/kafka.sh'), action], {
        cwd: REPO_ROOT,
        timeout: 150_000,
        env: {
          ...process.env,
          STACK_DIR: this.stackDir,
          KAFKA_PORT: String(this.port),
          KAFKA_CONTROLLER_PORT: String(this.controllerPort),
          // Plaintext only: no SASL_SSL listener (its port would clash with the shared
          // broker's 9094), no authorizer, no users to create.
          KAFKA_SASL_PORT: 'none',
          KAFKA_LIBS: join(SHARED_STACK, 'kafka', 'libs'),
          READY_TIMEOUT: '90',
        },
      });
    } catch (error) {
      const output = error as { stdout?: string; stderr?: string };
      throw new Error(
        `kafka.sh ${action} on port ${this.port} failed: ${output.stderr ?? ''}${output.stdout ?? ''}`,
        { cause: error },
      );
    }
  }
}
