import { Controller, Get, Header, Res } from '@nestjs/common';
import { HealthRegistry, type HealthProbe, type HealthReport } from './health.registry';

/** The one thing the probes need from the response: Express' res and Fastify's reply both have it. */
interface StatusSettable {
  status(code: number): unknown;
}

/**
 * The probes, all unauthenticated and answered from the registry only:
 * - GET /livez: the liveness indicators (the process itself; never a dependency). That it
 *   answers at all shows the event loop runs. Kubernetes' livenessProbe: down restarts the pod.
 * - GET /readyz: every indicator (dependencies included). Kubernetes' readinessProbe and
 *   compose's healthcheck: down takes the pod out of traffic, never restarts it.
 * - GET /healthz: the readiness view under its original name (a stable interface).
 * 200 with the report when up, 503 with the same body otherwise. The status is set on the
 * response rather than thrown, so a service's global exception filter cannot replace the report
 * with its own error body.
 */
@Controller()
export class HealthController {
  constructor(private readonly health: HealthRegistry) {}

  @Get('livez')
  @Header('Cache-Control', 'no-store')
  live(@Res({ passthrough: true }) response: StatusSettable): Promise<HealthReport> {
    return this.answer('liveness', response);
  }

  @Get('readyz')
  @Header('Cache-Control', 'no-store')
  ready(@Res({ passthrough: true }) response: StatusSettable): Promise<HealthReport> {
    return this.answer('readiness', response);
  }

  @Get('healthz')
  @Header('Cache-Control', 'no-store')
  check(@Res({ passthrough: true }) response: StatusSettable): Promise<HealthReport> {
    return this.answer('readiness', response);
  }

  private async answer(probe: HealthProbe, response: StatusSettable): Promise<HealthReport> {
    const report = await this.health.check(probe);
    response.status(report.status === 'up' ? 200 : 503);
    return report;
  }
}
