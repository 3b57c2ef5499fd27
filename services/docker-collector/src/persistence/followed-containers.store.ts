import { join } from 'node:path';
import { z } from 'zod';
import { type SampleEvent, SampleEventSchema } from '@metering/contracts';
import { StateFile } from '@metering/spool';
import { type FollowedStore, type LoadedFollowed } from '../collector/collector.ports';

/** Larger than any host's containers need (a sample is under 1 KB): refused unread. */
export const MAX_FOLLOWED_FILE_BYTES = 64 * 1024 * 1024;
const VERSION = 1;
const HEAD = Buffer.from(`{"version":${VERSION},"samples":[`);
const TAIL = Buffer.from(']}');
const COMMA = 0x2c;

const FileSchema = z.object({
  version: z.literal(VERSION),
  samples: z.array(z.unknown()).max(100_000),
});

/**
 * The containers the collector follows, beside the spool (`<SPOOL_DIR>/followed/containers.json`,
 * a StateFile of @metering/spool): per container instance, the last sample published for it. A
 * restarted collector that finds one gone publishes its final, inferred from that sample
 * (README, "Across restarts"). Every sample is checked against the contract when read: a file
 * that is not whole and valid is unusable (reported, never fatal).
 */
export class FileFollowedStore implements FollowedStore {
  private readonly file: StateFile;

  constructor(dir: string) {
    this.file = new StateFile(join(dir, 'containers.json'), MAX_FOLLOWED_FILE_BYTES);
  }

  get path(): string {
    return this.file.path;
  }

  load(): LoadedFollowed {
    const read = this.file.read();
    if (read.kind !== 'text') return read;
    let json: unknown;
    try {
      json = JSON.parse(read.text);
    } catch (error) {
      return { kind: 'unusable', problem: `not JSON (${(error as Error).message})` };
    }
    const file = FileSchema.safeParse(json);
    if (!file.success) {
      const issue = file.error.issues[0];
      return { kind: 'unusable', problem: `${issue?.path.join('.') || 'file'}: ${issue?.message}` };
    }
    const samples: SampleEvent[] = [];
    for (const [i, item] of file.data.samples.entries()) {
      const sample = SampleEventSchema.safeParse(item);
      if (!sample.success) {
        const issue = sample.error.issues[0];
        return {
          kind: 'unusable',
          problem: `samples.${i}.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`,
        };
      }
      if (sample.data.source !== 'docker' || sample.data.lifecycle === 'final') {
        return { kind: 'unusable', problem: `samples.${i}: not a live docker sample` };
      }
      samples.push(sample.data);
    }
    return { kind: 'loaded', samples };
  }

  /**
   * Writes the samples' JSON as they are (the records' values the publisher made), joined into
   * the file's JSON without parsing or encoding any again: at 10,000 containers, encoding every
   * sample once more every cycle cost about as much as the rest of the save.
   */
  save(samples: readonly Uint8Array[], sync: boolean): void {
    let length = HEAD.length + TAIL.length + Math.max(0, samples.length - 1);
    for (const s of samples) length += s.length;
    const file = Buffer.allocUnsafe(length);
    let at = HEAD.copy(file, 0);
    for (const [i, s] of samples.entries()) {
      if (i > 0) at = file.writeUInt8(COMMA, at);
      file.set(s, at);
      at += s.length;
    }
    TAIL.copy(file, at);
    this.file.write(file, sync);
  }
}
