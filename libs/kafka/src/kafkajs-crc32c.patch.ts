import { kafkajsModule, replaceKafkajsModule } from './kafkajs-module';

// kafkajs 2.2.4 checksums every record batch it produces with CRC32C computed a byte at a time
// in JavaScript: at 10,000 samples a cycle (~7 MB of batches) it was ~3 % of docker-collector's
// busy time in a profile. Here the function kafkajs's record batch module requires is the same
// CRC (Castagnoli, reflected 0x82F63B78) computed eight bytes at a time with eight tables
// ("slicing-by-8"): the same checksums (kafkajs-crc32c.patch.spec.ts). Like the encoder patch it
// must be in place before kafkajs loads its protocol modules (libs/kafka's index imports it
// first); a module loaded earlier keeps the original, which gives the same checksums.

type Crc = ((buffer: Buffer) => number) & { [PATCHED]?: true };

const PATCHED = Symbol.for('metering.kafkajs.crc32c.sliced');

const CRC_MODULE = 'kafkajs/src/protocol/recordBatch/crc32C';

/** kafkajs's crc32C as its record batch module gets it: the sliced one once this has run. */
export function kafkajsCrc32c(): Crc {
  return kafkajsModule<Crc>(CRC_MODULE);
}

const TABLES = ((): Int32Array[] => {
  const t = Array.from({ length: 8 }, () => new Int32Array(256));
  const t0 = t[0]!;
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t0[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 8; k++) {
      const prev = t[k - 1]![n]!;
      t[k]![n] = (prev >>> 8) ^ t0[prev & 0xff]!;
    }
  }
  return t;
})();

/** CRC32C of the whole buffer, unsigned: what kafkajs's crc32C returns. */
export function crc32c(buffer: Buffer): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES as [
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
  ];
  let crc = -1;
  let i = 0;
  const whole = buffer.length - (buffer.length % 8);
  for (; i < whole; i += 8) {
    const a =
      crc ^ (buffer[i]! | (buffer[i + 1]! << 8) | (buffer[i + 2]! << 16) | (buffer[i + 3]! << 24));
    crc =
      t7[a & 0xff]! ^
      t6[(a >>> 8) & 0xff]! ^
      t5[(a >>> 16) & 0xff]! ^
      t4[a >>> 24]! ^
      t3[buffer[i + 4]!]! ^
      t2[buffer[i + 5]!]! ^
      t1[buffer[i + 6]!]! ^
      t0[buffer[i + 7]!]!;
  }
  for (; i < buffer.length; i++) crc = t0[(crc ^ buffer[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

/** Puts the sliced CRC32C in place of kafkajs's (once per process). */
export function patchKafkajsCrc32c(): void {
  replaceKafkajsModule<Crc>(CRC_MODULE, PATCHED, () => (buffer: Buffer) => crc32c(buffer));
}

patchKafkajsCrc32c();
