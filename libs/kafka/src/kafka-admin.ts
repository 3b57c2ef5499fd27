import { ConfigResourceTypes, type Admin } from 'kafkajs';
import { createLogger, type Logger } from '@metering/observability';

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  /** Default 1 (the local single broker); production passes 3. */
  replicationFactor?: number;
  /** Topic configuration, e.g. { 'retention.ms': '604800000' }; applied on creation only. */
  config?: Readonly<Record<string, string>>;
}

export interface PartitionWatermarks {
  partition: number;
  logStart: string;
  logEnd: string;
}

export interface EnsureTopicsResult {
  created: string[];
  existing: string[];
}

/** Topic administration for boot time and tests. */
export class KafkaAdmin {
  private readonly logger: Logger;

  constructor(
    private readonly admin: Admin,
    deps: { logger: Logger },
  ) {
    this.logger = createLogger('KafkaAdmin', { parent: deps.logger });
  }

  connect(): Promise<void> {
    return this.admin.connect();
  }

  disconnect(): Promise<void> {
    return this.admin.disconnect();
  }

  /**
   * Creates the topics that do not exist; existing ones are left as they are. Safe to run
   * at every start of every service, also concurrently. A partition count that differs
   * from the spec is logged, never changed: adding partitions remaps keys to partitions
   * and breaks per-resource order, so it is an operator's decision.
   */
  async ensureTopics(specs: readonly TopicSpec[]): Promise<EnsureTopicsResult> {
    const present = new Set(await this.admin.listTopics());
    const missing = specs.filter((spec) => !present.has(spec.topic));
    const created: string[] = [];
    if (missing.length > 0) {
      const createdAll = await this.admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((spec) => ({
          topic: spec.topic,
          numPartitions: spec.numPartitions,
          replicationFactor: spec.replicationFactor ?? 1,
          configEntries: Object.entries(spec.config ?? {}).map(([name, value]) => ({
            name,
            value,
          })),
        })),
      });
      // false: another process created some of them between listTopics and createTopics.
      if (createdAll) created.push(...missing.map((spec) => spec.topic));
    }
    const existing = specs.map((spec) => spec.topic).filter((topic) => !created.includes(topic));
    if (existing.length > 0) await this.warnOnPartitionMismatch(specs, existing);
    if (created.length > 0) this.logger.info({ created }, 'topics created');
    return { created, existing };
  }

  /**
   * Each partition's log start (low watermark: the first offset the broker still holds) and log
   * end (high watermark: the offset of the next message), as decimal strings.
   */
  async watermarks(topic: string): Promise<PartitionWatermarks[]> {
    const offsets = await this.admin.fetchTopicOffsets(topic);
    return offsets
      .map((o) => ({ partition: o.partition, logStart: o.low, logEnd: o.high }))
      .sort((a, b) => a.partition - b.partition);
  }

  /** Partitions per topic, for checks and tests. */
  async partitionCounts(topics: readonly string[]): Promise<Map<string, number>> {
    const metadata = await this.admin.fetchTopicMetadata({ topics: [...topics] });
    return new Map(metadata.topics.map((topic) => [topic.name, topic.partitions.length]));
  }

  /**
   * The topic's `max.message.bytes` (its own setting, or the broker's `message.max.bytes` it
   * inherits): the largest record batch the topic accepts. null when the broker does not say.
   */
  async maxMessageBytes(topic: string): Promise<number | null> {
    const described = await this.admin.describeConfigs({
      includeSynonyms: false,
      resources: [
        { type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['max.message.bytes'] },
      ],
    });
    const value = described.resources[0]?.configEntries.find(
      (entry) => entry.configName === 'max.message.bytes',
    )?.configValue;
    const bytes = Number(value);
    return value === undefined || !Number.isSafeInteger(bytes) || bytes <= 0 ? null : bytes;
  }

  private async warnOnPartitionMismatch(
    specs: readonly TopicSpec[],
    topics: readonly string[],
  ): Promise<void> {
    const counts = await this.partitionCounts(topics);
    for (const spec of specs) {
      const actual = counts.get(spec.topic);
      if (actual !== undefined && actual !== spec.numPartitions) {
        this.logger.warn(
          { topic: spec.topic, expected: spec.numPartitions, actual },
          'topic exists with another partition count; left unchanged',
        );
      }
    }
  }
}
