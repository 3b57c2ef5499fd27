import { type Provider, type Type } from '@nestjs/common';
import { BudgetCheckService } from './budget/budget-check.service';
import { BudgetThresholdController } from './budget/budget-threshold.controller';
import { BudgetThresholdRepository } from './budget/budget-threshold.repository';
import { BudgetThresholdService } from './budget/budget-threshold.service';
import { EventRelayService } from './events/event-relay.service';
import { OutboxLagMonitor } from './events/outbox-lag.monitor';
import { CloseRunStore } from './schedule/close-run.store';
import { RecordedCloseService } from './schedule/recorded-close.service';
import { ScheduleStatusService } from './schedule/schedule-status.service';
import { ScheduledCloseService } from './schedule/scheduled-close.service';
import { WebhookController } from './webhooks/webhook.controller';
import { WebhookDeliveryStore } from './webhooks/webhook-delivery.store';
import { WebhookDeliveryWorker } from './webhooks/webhook-delivery.worker';
import { WebhookEndpointRepository } from './webhooks/webhook-endpoint.repository';
import { WebhookEndpointService } from './webhooks/webhook-endpoint.service';

/**
 * Billing automation (issue 16) wired into AppModule: invoice events (outbox relay), webhooks,
 * the scheduled close, budget alerts. Listed here so AppModule names them in one line each.
 */
export const AUTOMATION_CONTROLLERS: Type[] = [WebhookController, BudgetThresholdController];

export const AUTOMATION_PROVIDERS: Provider[] = [
  OutboxLagMonitor,
  EventRelayService,
  WebhookEndpointRepository,
  WebhookEndpointService,
  WebhookDeliveryStore,
  WebhookDeliveryWorker,
  ScheduledCloseService,
  BudgetThresholdRepository,
  BudgetThresholdService,
  BudgetCheckService,
  CloseRunStore,
  RecordedCloseService,
  ScheduleStatusService,
];
