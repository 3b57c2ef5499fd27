// Stopping a consumer on a process signal: disconnect within a bound, then, if nothing else
// listens for the signal, raise it again so the process ends as it would have.
import { type Logger } from '@metering/observability';

export class SignalShutdown {
  private readonly signalListeners = new Map<NodeJS.Signals, () => void>();

  constructor(
    private readonly signals: readonly NodeJS.Signals[],
    private readonly shutdownTimeoutMs: number,
    private readonly disconnect: () => Promise<void>,
    private readonly logger: Logger,
  ) {}

  install(): void {
    for (const signal of this.signals) {
      const listener = (): void => {
        this.logger.info({ signal }, 'shutting down on signal');
        void this.shutdownOnSignal(signal);
      };
      this.signalListeners.set(signal, listener);
      process.once(signal, listener);
    }
  }

  private async shutdownOnSignal(signal: NodeJS.Signals): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.logger.error({ timeoutMs: this.shutdownTimeoutMs }, 'shutdown timed out');
        resolve();
      }, this.shutdownTimeoutMs);
    });
    try {
      await Promise.race([this.disconnect(), timeout]);
    } catch (error) {
      this.logger.error({ err: error }, 'error while shutting down');
    } finally {
      clearTimeout(timer);
    }
    // Nobody else handles the signal: restore its default effect (end the process). pino
    // writes stdout asynchronously, so flush first or the last lines are lost.
    if (process.listenerCount(signal) === 0) {
      await new Promise<void>((resolve) => this.logger.flush(() => resolve()));
      process.kill(process.pid, signal);
    }
  }

  remove(): void {
    for (const [signal, listener] of this.signalListeners) process.off(signal, listener);
    this.signalListeners.clear();
  }
}
