import { type ArgumentMetadata, Injectable, ValidationPipe } from '@nestjs/common';
import { type ValidationError } from 'class-validator';
import { type FieldProblem, ValidationFailedError } from './billing.errors';

/**
 * class-validator DTOs with answers that name the field: `cpu.tiers[1].upTo: …`. Unknown
 * members are dropped (further fields are welcome, not stored); a body that is not an object is
 * refused before the DTO sees it.
 */
@Injectable()
export class FieldValidationPipe extends ValidationPipe {
  constructor() {
    super({
      transform: true,
      whitelist: true,
      forbidUnknownValues: true,
      validationError: { target: false, value: false },
      exceptionFactory: (errors: ValidationError[]) =>
        new ValidationFailedError(flattenErrors(errors)),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (
      (metadata.type === 'body' || metadata.type === 'query') &&
      metadata.metatype !== undefined &&
      isDto(metadata.metatype) &&
      (typeof value !== 'object' || value === null || Array.isArray(value))
    ) {
      throw new ValidationFailedError([{ field: metadata.type, message: 'must be a JSON object' }]);
    }
    return super.transform(value, metadata);
  }
}

function isDto(metatype: unknown): boolean {
  return (
    typeof metatype === 'function' &&
    ![String, Boolean, Number, Array, Object].includes(metatype as StringConstructor)
  );
}

export function flattenErrors(errors: readonly ValidationError[], parent = ''): FieldProblem[] {
  const out: FieldProblem[] = [];
  for (const error of errors) {
    const field = /^\d+$/.test(error.property)
      ? `${parent}[${error.property}]`
      : parent === ''
        ? error.property
        : `${parent}.${error.property}`;
    for (const message of Object.values(error.constraints ?? {})) {
      out.push({
        field: field === '' ? 'body' : field,
        message: stripProperty(message, error.property),
      });
    }
    if (error.children !== undefined && error.children.length > 0) {
      out.push(...flattenErrors(error.children, field));
    }
  }
  return out;
}

/** class-validator starts messages with the property ("name must be a string"); the field says it. */
function stripProperty(message: string, property: string): string {
  return message.startsWith(`${property} `) ? message.slice(property.length + 1) : message;
}
