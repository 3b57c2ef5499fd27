import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength, ValidateBy } from 'class-validator';

export const PAGE_DEFAULT = 50;
export const PAGE_MAX = 200;

/** A page size as the query string carries it: plain digits (no sign, no 0 first), 1 to max. */
export function isPageLimit(value: unknown, max: number): value is string {
  return typeof value === 'string' && /^[1-9]\d{0,5}$/.test(value) && Number(value) <= max;
}

/** `limit` of a page: a whole number from 1 to max, as the query string carries it. */
export function IsPageLimit(max: number): PropertyDecorator {
  return ValidateBy({
    name: 'isPageLimit',
    validator: {
      validate: (value) => isPageLimit(value, max),
      defaultMessage: () => `must be a whole number from 1 to ${max}`,
    },
  });
}

/** `limit` and `cursor` of every list endpoint; lists extend it with their filters. */
export class PageQueryDto {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: PAGE_MAX,
    default: PAGE_DEFAULT,
    description: 'Most items in this page',
  })
  @IsOptional()
  @IsPageLimit(PAGE_MAX)
  limit?: string;

  @ApiPropertyOptional({
    description: '`nextCursor` of the previous page, unchanged (opaque, bound to the filters)',
  })
  @IsOptional()
  @IsString()
  @MaxLength(2100)
  cursor?: string;
}

export function limitOf(query: PageQueryDto): number {
  return query.limit === undefined ? PAGE_DEFAULT : Number(query.limit);
}

/** A page of a list: `data` in the list's order, `nextCursor` null at the end. */
export interface Page<T> {
  readonly data: T[];
  readonly nextCursor: string | null;
}

/**
 * A page from `limit + 1` rows fetched in keyset order: the extra row only tells that there is
 * a next page, whose cursor stands for the last row shown.
 */
export function pageOf<R, T>(
  rows: readonly R[],
  limit: number,
  toItem: (row: R) => T,
  cursorOf: (last: R) => string,
): Page<T> {
  const shown = rows.slice(0, limit);
  const last = shown[shown.length - 1];
  return {
    data: shown.map(toItem),
    nextCursor: rows.length > limit && last !== undefined ? cursorOf(last) : null,
  };
}
