import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type BeforeApplicationShutdown,
} from '@nestjs/common';
import { WEBHOOK_SIGNATURE_HEADER, webhookSignatureHeader } from '@metering/contracts';
import { createLogger, type Logger, MetricsRegistry, ROOT_LOGGER } from '@metering/observability';
import { mapConcurrent } from '@metering/observability/resilience';
import { PeriodicTask } from '../common/periodic-task';
import { BILLING_CONFIG } from '../common/tokens';
import { type BillingConfig } from '../config';
import { nextAttemptAt, shouldDisable } from './domain/retry-schedule';
import {
  type AttemptOutcome,
  type ClaimedDelivery,
  WebhookDeliveryStore,
} from './webhook-delivery.store';
import { postWebhook, WebhookRequestError } from './webhook-http.client';
import { WebhookSecretCipher } from './webhook-secret.cipher';

/**
 * Sends due webhook deliveries: signed (Metering-Signature, both secrets during a rotation's
 * overlap), one POST each, 2xx = delivered. Anything else (an error status, a timeout, a refused
 * address) is retried with exponential backoff and jitter until the retry window (24 h by
 * default) is over, then failed. An endpoint failing persistently is disabled, with an event.
 * Several instances share the work through leases (WebhookDeliveryStore.claim).
 */
@Injectable()
export class WebhookDeliveryWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger: Logger;
  private readonly cipher: WebhookSecretCipher | null;
  private readonly attempts;
  private readonly latency;
  private readonly task: PeriodicTask;
  /** Jitter source and the signatures' time (receivers check it against their wall clock). */
  private readonly random: () => number = Math.random;
  private readonly wallClock: () => number = Date.now;

  constructor(
    private readonly store: WebhookDeliveryStore,
    @Inject(BILLING_CONFIG) private readonly config: BillingConfig,
    @Inject(ROOT_LOGGER) root: Logger,
    metrics: MetricsRegistry,
  ) {
    this.logger = createLogger(WebhookDeliveryWorker.name, { parent: root });
    const key = config.automation.webhooks.secretKey;
    this.cipher = key === null ? null : new WebhookSecretCipher(key);
    this.attempts = metrics.counter<'outcome'>({
      name: 'webhook_attempts_total',
      help: 'Webhook delivery attempts by outcome (delivered, retry, failed)',
      labelNames: ['outcome'],
    });
    this.latency = metrics.histogram({
      name: 'webhook_attempt_seconds',
      help: 'Time of one webhook delivery attempt',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    });
    this.task = new PeriodicTask(
      () => this.tick(),
      config.automation.webhooks.pollMs,
      (error) => this.logger.error({ err: error }, 'webhook delivery run failed'),
    );
  }

  onApplicationBootstrap(): void {
    if (!this.config.automation.background) return;
    if (this.cipher === null) {
      this.logger.warn('WEBHOOK_SECRET_KEY is not set: webhooks are off');
      return;
    }
    this.task.start();
  }

  /** Before the database closes (its provider closes on onApplicationShutdown): a run in flight ends first. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.task.stop();
  }

  /** Sends every delivery due now (exposed for tests). Returns how many were attempted. */
  async runOnce(): Promise<number> {
    const w = this.config.automation.webhooks;
    if (this.cipher === null) return 0;
    const claimed = await this.store.claim(w.concurrency * 4, w.timeoutMs * 2 + 5_000);
    await mapConcurrent(claimed, w.concurrency, (d) => this.attempt(d));
    return claimed.length;
  }

  private async tick(): Promise<void> {
    try {
      while ((await this.runOnce()) > 0 && !this.task.isStopped) {
        // Keep going while there is a backlog.
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'webhook delivery run failed; the next run retries');
    }
  }

  private async attempt(d: ClaimedDelivery): Promise<void> {
    const w = this.config.automation.webhooks;
    const cipher = this.cipher;
    if (cipher === null) return;
    let outcome: AttemptOutcome;
    try {
      const secrets = [cipher.decrypt(d.secret, d.endpointId)];
      if (d.previousSecret !== null) secrets.push(cipher.decrypt(d.previousSecret, d.endpointId));
      const timestamp = Math.floor(this.wallClock() / 1000);
      const response = await postWebhook(
        d.url,
        d.payload,
        {
          'content-type': 'application/json',
          'user-agent': 'metering-webhooks/1',
          'metering-event-id': d.eventId,
          'metering-event-type': d.eventType,
          'metering-delivery-id': d.id,
          [WEBHOOK_SIGNATURE_HEADER.toLowerCase()]: webhookSignatureHeader(
            secrets,
            timestamp,
            d.payload,
          ),
        },
        {
          timeoutMs: w.timeoutMs,
          policy: { requireHttps: w.requireHttps, allowedCidrs: w.allowedCidrs },
        },
      );
      outcome = {
        statusCode: response.status,
        latencyMs: response.latencyMs,
        response: response.head,
        error: response.status >= 200 && response.status < 300 ? null : `HTTP ${response.status}`,
      };
    } catch (error) {
      outcome = {
        statusCode: null,
        latencyMs: error instanceof WebhookRequestError ? error.latencyMs : 0,
        response: null,
        error: (error instanceof Error ? error.message : String(error)).slice(0, 1000),
      };
    }
    this.latency.observe(outcome.latencyMs / 1000);
    try {
      if (outcome.error === null) {
        await this.store.delivered(d.id, d.endpointId, outcome);
        this.attempts.inc({ outcome: 'delivered' });
        return;
      }
      const policy = { baseMs: w.retryBaseMs, maxMs: w.retryMaxMs, windowMs: w.retryWindowMs };
      const at = nextAttemptAt(d.attempts + 1, d.windowStartedMs, d.nowMs, policy, this.random());
      const disabled = await this.store.failed(
        d,
        outcome,
        at === null ? null : at - d.nowMs,
        (streak, since, now) =>
          shouldDisable(streak, since, now, {
            afterMs: w.disableAfterMs,
            afterFailures: w.disableAfterFailures,
          }),
      );
      this.attempts.inc({ outcome: at === null ? 'failed' : 'retry' });
      if (disabled) {
        this.logger.warn(
          { endpointId: d.endpointId },
          'webhook endpoint disabled after persistent failures',
        );
      }
    } catch (error) {
      // The lease runs out and another run tries again: at least once.
      this.logger.warn({ err: error, deliveryId: d.id }, 'webhook attempt not recorded');
    }
  }
}
