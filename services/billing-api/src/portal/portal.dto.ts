import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, MaxLength, ValidateIf } from 'class-validator';

/** Exactly one of the two (the controller checks which). */
export class PortalSignInDto {
  @ApiPropertyOptional({
    description: 'A tenant API key (mk_<id>_<secret>); the admin key is refused with 403',
    example: 'mk_3f2a9c0d41b7e655_…',
    maxLength: 512,
  })
  // Absent is fine; null is not a key (the controller wants exactly one of the two).
  @ValidateIf((o: PortalSignInDto) => o.apiKey !== undefined)
  @IsString()
  @MaxLength(512)
  apiKey?: string;

  @ApiPropertyOptional({
    description:
      'The token of an admin-made read-only link (POST /v1/tenants/{id}/portal-links), from the #link= fragment of its URL; usable once',
    maxLength: 512,
  })
  @ValidateIf((o: PortalSignInDto) => o.linkToken !== undefined)
  @IsString()
  @MaxLength(512)
  linkToken?: string;
}

export class PortalSessionDto {
  @ApiProperty({ example: 'acme' }) tenantId!: string;
  @ApiProperty({ example: 'Acme' }) tenantName!: string;
  @ApiProperty({ description: 'true: opened from an admin link; every write is refused (403)' })
  readOnly!: boolean;
  @ApiProperty({
    example: '2026-12-03T18:35:00.000Z',
    description:
      'When the session ends unless used again (idle timeout, sliding), or its absolute end, whichever comes first',
  })
  expiresAt!: string;
  @ApiProperty({
    description:
      'Send it as the X-CSRF-Token header on every write (POST, PUT, PATCH, DELETE) made with the session cookie',
  })
  csrfToken!: string;
  @ApiProperty({ example: 'Europe/Paris', description: 'The billing time zone of the tenant' })
  timeZone!: string;
  @ApiProperty({ example: 'EUR', description: 'The currency of its invoices (ISO 4217)' })
  currency!: string;
  @ApiProperty({
    type: String,
    nullable: true,
    example: '3f2a9c0d41b7e655',
    description:
      'The API key the session was opened with: revoking it ends the session. null for a session opened from an admin link',
  })
  apiKeyId!: string | null;
}

export class PortalLinkDto {
  @ApiProperty({
    example: '/portal/#link=…',
    description: 'Relative to billing-api; the token is in the fragment (never sent to a server)',
  })
  url!: string;
  @ApiProperty({ description: 'The same token as in the URL; POST it as linkToken, once' })
  token!: string;
  @ApiProperty({ example: '2026-12-03T18:10:00.000Z' }) expiresAt!: string;
}
