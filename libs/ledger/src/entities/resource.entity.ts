import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * A resource of a tenant as the collectors describe it: the dimension the usage API, invoice lines
 * and the PDF join on (tenant_id, resource_id). Name, image, flavour and host are those of the
 * sample with the latest observed time (`detailsObservedAt`); first and last seen are the earliest
 * and latest sample times rating recorded (last seen is refreshed at most every few minutes, not
 * per sample: services/rating README, "Resource names").
 */
@Entity({ name: 'resource' })
export class ResourceEntity {
  @PrimaryColumn({ type: 'text', name: 'tenant_id' })
  tenantId!: string;

  @PrimaryColumn({ type: 'text', name: 'resource_id' })
  resourceId!: string;

  @Column({ type: 'text' })
  kind!: 'container' | 'vm';

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text', nullable: true })
  image!: string | null;

  @Column({ type: 'text', nullable: true })
  flavour!: string | null;

  @Column({ type: 'text' })
  host!: string;

  @Column({ type: 'timestamptz', name: 'first_seen', precision: 3 })
  firstSeen!: Date;

  @Column({ type: 'timestamptz', name: 'last_seen', precision: 3 })
  lastSeen!: Date;

  @Column({ type: 'timestamptz', name: 'details_observed_at', precision: 3 })
  detailsObservedAt!: Date;
}
