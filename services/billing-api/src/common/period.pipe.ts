import { Injectable, type PipeTransform } from '@nestjs/common';
import { isPeriod } from '@metering/pricing';
import { ValidationFailedError } from './billing.errors';

/** The `:period` path parameter: a month "YYYY-MM" (years 1970 to 2199). */
@Injectable()
export class PeriodPipe implements PipeTransform<unknown, string> {
  transform(value: unknown): string {
    if (typeof value !== 'string' || !isPeriod(value) || value < '1970-01' || value > '2199-12') {
      throw new ValidationFailedError([
        { field: 'period', message: 'must be a month "YYYY-MM", e.g. "2026-11"' },
      ]);
    }
    return value;
  }
}
