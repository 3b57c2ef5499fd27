import { Controller, Get, Header, ServiceUnavailableException } from '@nestjs/common';
import { HealthRegistry, type HealthReport } from './health.registry';

@Controller()
export class HealthController {
  constructor(private readonly health: HealthRegistry) {}

  /**
   * 200 with the report when every check is up, 503 with the same body otherwise. The
   * exception carries the report as its response body, which keeps this controller free of
   * any HTTP platform types (Express or Fastify).
   */
  @Get('healthz')
  @Header('Cache-Control', 'no-store')
  async check(): Promise<HealthReport> {
    const report = await this.health.check();
    if (report.status !== 'up') throw new ServiceUnavailableException(report);
    return report;
  }
}
