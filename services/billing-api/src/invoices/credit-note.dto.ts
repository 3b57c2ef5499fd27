import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class CreditNoteLineRequestDto {
  @ApiProperty({ example: 0, description: 'Index of the line in the invoice’s `lines`' })
  lineIndex!: number;
  @ApiProperty({
    example: '12.50',
    description: 'Net amount credited, > 0, ≤ what the line has left',
  })
  amount!: string;
}

export class CreateCreditNoteDto {
  @ApiProperty({ example: 'Service outage on 12 November', maxLength: 500 })
  reason!: string;
  @ApiPropertyOptional({
    type: [CreditNoteLineRequestDto],
    description: 'Per-line amounts; absent: everything the invoice has left to credit',
  })
  lines?: CreditNoteLineRequestDto[];
}

export class CreditNoteLineDto {
  @ApiProperty() lineIndex!: number;
  @ApiProperty() description!: string;
  @ApiProperty({ example: '12.50' }) amount!: string;
}

export class TaxLineDto {
  @ApiProperty({ example: '19' }) ratePercent!: string;
  @ApiProperty({ example: '100.00' }) base!: string;
  @ApiProperty({ example: '19.00' }) amount!: string;
  @ApiProperty({ type: String, nullable: true, example: null }) exemptionReason!: string | null;
}

export class CreditNoteDto {
  @ApiProperty({ example: 'CN-2026-000001' }) number!: string;
  @ApiProperty({ example: 'INV-2026-11-000001' }) invoiceNumber!: string;
  @ApiProperty() tenantId!: string;
  @ApiProperty() tenantName!: string;
  @ApiProperty({ example: '2026-11' }) period!: string;
  @ApiProperty() timeZone!: string;
  @ApiProperty({ example: 'EUR' }) currency!: string;
  @ApiProperty() reason!: string;
  @ApiProperty({ type: [CreditNoteLineDto] }) lines!: CreditNoteLineDto[];
  @ApiProperty({ type: [TaxLineDto] }) taxLines!: TaxLineDto[];
  @ApiProperty({ example: '12.50' }) net!: string;
  @ApiProperty({ example: '2.38' }) tax!: string;
  @ApiProperty({ example: '14.88' }) gross!: string;
  @ApiProperty({ type: [String] }) notes!: string[];
  @ApiProperty() issuedAt!: string;
  @ApiProperty({ description: 'SHA-256 of the canonical JSON with this field null' })
  contentHash!: string;
}
