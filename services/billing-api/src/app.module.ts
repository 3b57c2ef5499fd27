import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import {
  HealthController,
  type Logger,
  MetricsController,
  type MetricsRegistry,
  ObservabilityModule,
} from '@metering/observability';
import { ApiKeyController } from './auth/api-key.controller';
import { ApiKeyRepository } from './auth/api-key.repository';
import { AUTOMATION_CONTROLLERS, AUTOMATION_PROVIDERS } from './automation.providers';
import { PORTAL_CONTROLLERS, PORTAL_PROVIDERS } from './portal.providers';
import { ApiKeyService } from './auth/api-key.service';
import { AuthGuard } from './auth/auth.guard';
import { Clock, clockFor } from './common/clock';
import { DatabaseLifecycle, dataSourceProvider } from './common/database.provider';
import { ErrorFilter } from './common/error.filter';
import { IdempotencyInterceptor } from './common/idempotency.interceptor';
import { IdempotencyRepository } from './common/idempotency.repository';
import { PageCursors } from './common/page-cursor';
import { TextInputGuard } from './common/text-input.guard';
import { BILLING_CONFIG } from './common/tokens';
import { FieldValidationPipe } from './common/validation.pipe';
import { type BillingConfig } from './config';
import { CreditNoteController } from './invoices/credit-note.controller';
import { CreditNoteRepository } from './invoices/credit-note.repository';
import { CreditNoteService } from './invoices/credit-note.service';
import { InvoiceController } from './invoices/invoice.controller';
import { InvoiceExportService } from './invoices/invoice-export.service';
import { InvoiceRepository } from './invoices/invoice.repository';
import { InvoiceService } from './invoices/invoice.service';
import { PeriodCloseService } from './invoices/period-close.service';
import { PricePlanController } from './price-plans/price-plan.controller';
import { PricePlanRepository } from './price-plans/price-plan.repository';
import { PricePlanService } from './price-plans/price-plan.service';
import { TenantController } from './tenants/tenant.controller';
import { TenantRepository } from './tenants/tenant.repository';
import { TenantService } from './tenants/tenant.service';
import { UnbilledUsageController } from './unbilled/unbilled-usage.controller';
import { UnbilledUsageMonitor } from './unbilled/unbilled-usage.monitor';
import { UnbilledUsageRepository } from './unbilled/unbilled-usage.repository';
import { UnbilledUsageService } from './unbilled/unbilled-usage.service';
import { UsageController } from './usage/usage.controller';
import { UsageRepository } from './usage/usage.repository';
import { UsageService } from './usage/usage.service';

/**
 * Never rate limited: a 429 on /livez would get the pod restarted, on /readyz taken out of
 * traffic, on /metrics lose a scrape. Their clients are the orchestrator and Prometheus, and
 * each answer is cheap (the checks are shared while they run).
 */
const UNTHROTTLED_CONTROLLERS: readonly unknown[] = [HealthController, MetricsController];

@Module({})
export class AppModule {
  static forRoot(config: BillingConfig, logger: Logger, metrics?: MetricsRegistry): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ObservabilityModule.forRoot({ serviceName: 'billing-api', logger, metrics }),
        ThrottlerModule.forRoot({
          throttlers: [{ ttl: config.rateLimit.windowMs, limit: config.rateLimit.limit }],
          skipIf: (context) => UNTHROTTLED_CONTROLLERS.includes(context.getClass()),
        }),
      ],
      controllers: [
        TenantController,
        PricePlanController,
        UsageController,
        InvoiceController,
        CreditNoteController,
        UnbilledUsageController,
        ApiKeyController,
        ...AUTOMATION_CONTROLLERS,
        ...PORTAL_CONTROLLERS,
      ],
      providers: [
        { provide: BILLING_CONFIG, useValue: config },
        { provide: Clock, useValue: clockFor(config) },
        { provide: PageCursors, useValue: new PageCursors(config.adminApiKey) },
        dataSourceProvider,
        DatabaseLifecycle,
        ApiKeyRepository,
        ApiKeyService,
        TenantRepository,
        TenantService,
        PricePlanRepository,
        PricePlanService,
        UsageRepository,
        UsageService,
        InvoiceRepository,
        InvoiceService,
        CreditNoteRepository,
        CreditNoteService,
        PeriodCloseService,
        InvoiceExportService,
        UnbilledUsageRepository,
        UnbilledUsageService,
        UnbilledUsageMonitor,
        ...AUTOMATION_PROVIDERS,
        ...PORTAL_PROVIDERS,
        // Order matters: throttle first (also unauthenticated floods), then authenticate, then
        // refuse control characters in any input (so a stranger still gets 401 first).
        { provide: APP_GUARD, useClass: ThrottlerGuard },
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_GUARD, useClass: TextInputGuard },
        IdempotencyRepository,
        // After the guards (the principal is known, control characters are refused), before
        // the pipes: a replay answers without validating or running anything again.
        { provide: APP_INTERCEPTOR, useClass: IdempotencyInterceptor },
        { provide: APP_FILTER, useClass: ErrorFilter },
        { provide: APP_PIPE, useClass: FieldValidationPipe },
      ],
    };
  }
}
