import { Controller, Get, Header, ServiceUnavailableException } from '@nestjs/common';
import { HealthRegistry, type HealthProbe, type HealthReport } from './health.registry';

/**
 * The probes, all unauthenticated and answered from the registry only:
 * - GET /livez: the liveness indicators (the process itself; never a dependency). That it
 *   answers at all shows the event loop runs. Kubernetes' livenessProbe: down restarts the pod.
 * - GET /readyz: every indicator (dependencies included). Kubernetes' readinessProbe and
 *   compose's healthcheck: down takes the pod out of traffic, never restarts it.
 * - GET /healthz: the readiness view under its original name (a stable interface).
 * 200 with the report when up, 503 with the same body otherwise. The exception carries the
 * report as its response body, which keeps this controller free of any HTTP platform types.
 */
@Controller()
export class HealthController {
  constructor(private readonly health: HealthRegistry) {}

  @Get('livez')
  @Header('Cache-Control', 'no-store')
  live(): Promise<HealthReport> {
    return this.answer('liveness');
  }

  @Get('readyz')
  @Header('Cache-Control', 'no-store')
  ready(): Promise<HealthReport> {
    return this.answer('readiness');
  }

  @Get('healthz')
  @Header('Cache-Control', 'no-store')
  check(): Promise<HealthReport> {
    return this.answer('readiness');
  }

  private async answer(probe: HealthProbe): Promise<HealthReport> {
    const report = await this.health.check(probe);
    if (report.status !== 'up') throw new ServiceUnavailableException(report);
    return report;
  }
}
