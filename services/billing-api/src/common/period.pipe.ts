import { Injectable, type PipeTransform } from '@nestjs/common';
import { ValidationFailedError } from './billing.errors';
import { isSupportedPeriod, PERIOD_MESSAGE } from './validators';

/** The `:period` path parameter: a month "YYYY-MM" (years 1970 to 2199). */
@Injectable()
export class PeriodPipe implements PipeTransform<unknown, string> {
  transform(value: unknown): string {
    if (!isSupportedPeriod(value)) {
      throw new ValidationFailedError([{ field: 'period', message: PERIOD_MESSAGE }]);
    }
    return value;
  }
}
