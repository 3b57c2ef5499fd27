import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

export interface StoredKey {
  readonly id: string;
  readonly tenantId: string;
  readonly secretSha256: Buffer;
}

@Injectable()
export class ApiKeyRepository {
  constructor(private readonly dataSource: DataSource) {}

  async insert(id: string, tenantId: string, secretSha256: Buffer): Promise<Date> {
    const rows = await this.dataSource.query<{ created_at: Date }[]>(
      `INSERT INTO api_key (id, tenant_id, secret_sha256) VALUES ($1, $2, $3) RETURNING created_at`,
      [id, tenantId, secretSha256],
    );
    return rows[0]?.created_at ?? new Date();
  }

  /** A key that is not revoked. */
  async findActive(id: string): Promise<StoredKey | null> {
    const rows = await this.dataSource.query<
      { id: string; tenant_id: string; secret_sha256: Buffer }[]
    >(`SELECT id, tenant_id, secret_sha256 FROM api_key WHERE id = $1 AND revoked_at IS NULL`, [
      id,
    ]);
    const row = rows[0];
    return row === undefined
      ? null
      : { id: row.id, tenantId: row.tenant_id, secretSha256: row.secret_sha256 };
  }

  /** Revokes the tenant's key; false when it has no such active key. */
  async revoke(tenantId: string, id: string): Promise<boolean> {
    // TypeORM answers an UPDATE with [rows, affected].
    const [, affected] = await this.dataSource.query<[unknown[], number]>(
      `UPDATE api_key SET revoked_at = now()
       WHERE id = $1 AND tenant_id = $2 AND revoked_at IS NULL`,
      [id, tenantId],
    );
    return affected > 0;
  }
}
