import { kafkajsModule, replaceKafkajsModule } from './kafkajs-module';

// kafkajs 2.2.4's protocol Encoder starts every encoder with Buffer.alloc(512) and grows it with
// Buffer.alloc: a zero-filled ArrayBuffer of its own each time, and a produce request makes
// several encoders per record (the record, its headers, the batch): at 10,000 samples a cycle,
// a tenth of docker-collector's produce time went to allocating them. Nothing reads a byte the
// encoder did not write (every write advances `offset`, `buffer` is the written prefix), so the
// zero fill buys nothing: here the Encoder that kafkajs's modules require is one whose buffers
// come from Buffer.allocUnsafe (Node's pool for small sizes). Same methods, same statics, same
// bytes (kafkajs-encoder.patch.spec.ts). It must be in place before kafkajs loads its protocol
// modules (libs/kafka's index imports it first); modules loaded earlier keep the original, which
// writes the same bytes.

interface EncoderShape {
  buf: Buffer;
  offset: number;
}

type EncoderClass = (new (initialSize?: number) => EncoderShape) & {
  nextPowerOfTwo(value: number): number;
  prototype: EncoderShape & { ensureAvailable(length: number): void };
  [PATCHED]?: true;
};

const PATCHED = Symbol.for('metering.kafkajs.encoder.pooled');

const ENCODER_MODULE = 'kafkajs/src/protocol/encoder';

/** kafkajs's Encoder as its modules get it: the pooled one once this module has run. */
export function kafkajsEncoder(): EncoderClass {
  return kafkajsModule<EncoderClass>(ENCODER_MODULE);
}

function pooled(Original: EncoderClass): EncoderClass {
  function PooledEncoder(this: EncoderShape, initialSize = 511): void {
    this.buf = Buffer.allocUnsafe(Original.nextPowerOfTwo(initialSize));
    this.offset = 0;
  }
  // Statics (sizeOfVarInt…) through the constructor's prototype, methods through the prototype's.
  Object.setPrototypeOf(PooledEncoder, Original);
  PooledEncoder.prototype = Object.create(Original.prototype, {
    constructor: { value: PooledEncoder, writable: true, configurable: true },
  }) as EncoderClass['prototype'];
  PooledEncoder.prototype.ensureAvailable = function ensureAvailable(
    this: EncoderShape,
    length: number,
  ): void {
    if (this.offset + length > this.buf.length) {
      const grown = Buffer.allocUnsafe(Original.nextPowerOfTwo(this.offset + length));
      this.buf.copy(grown, 0, 0, this.offset);
      this.buf = grown;
    }
  };
  return PooledEncoder as unknown as EncoderClass;
}

/** Puts the pooled Encoder in place of kafkajs's (once per process). */
export function patchKafkajsEncoder(): void {
  replaceKafkajsModule(ENCODER_MODULE, PATCHED, pooled);
}

patchKafkajsEncoder();
