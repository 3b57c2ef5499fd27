import { kafkajsModule, replaceKafkajsModule } from './kafkajs-module';
import { ownRecordBytes } from './record-bytes';

// kafkajs 2.2.4's record batch decoder (recordBatch/v0/decoder.js) reads a batch from a slice of
// the whole fetch response, so every record of every partition in it keeps the response alive:
// a consumer holding a partition's records for a batch window keeps megabytes of others', and
// freeing them is left to V8's full collections, which that very memory starts (ADR 14). Here
// the same decoder reads each batch from a copy of its own bytes (ownRecordBytes): a batch's
// records hold only their batch, which releaseRecordBytes can free once they are committed, and
// the response can die young. kafkajs's own function does the decoding, field for field; only the
// slice it takes of the response is copied. Like the other patches it must be in place before
// kafkajs loads its fetch decoders; libs/kafka's index imports it after the record decoder's.

interface FetchDecoder {
  slice: (this: FetchDecoder, size: number) => { buffer: Buffer };
}

type BatchDecoder = ((fetchDecoder: FetchDecoder) => Promise<unknown>) & { [PATCHED]?: true };

const PATCHED = Symbol.for('metering.kafkajs.record-batch.own-bytes');
const BATCH_MODULE = 'kafkajs/src/protocol/recordBatch/v0/decoder';

/** kafkajs's record batch decoder as its fetch decoders get it: this one once patched. */
export function kafkajsRecordBatchDecoder(): BatchDecoder {
  return kafkajsModule<BatchDecoder>(BATCH_MODULE);
}

/**
 * `original` (kafkajs's batch decoder) reading its batch from a copy: the fetch decoder's `slice`,
 * which it calls once and synchronously (before its first await) for the batch's bytes, gives a
 * decoder over a copy of them for that call only.
 */
export function ownBytesBatchDecoder(
  original: BatchDecoder,
  Decoder: new (buffer: Buffer) => { buffer: Buffer },
): BatchDecoder {
  return (fetchDecoder) => {
    const slice = fetchDecoder.slice;
    fetchDecoder.slice = function ownSlice(this: FetchDecoder, size: number) {
      return new Decoder(ownRecordBytes(slice.call(this, size).buffer));
    };
    try {
      return original(fetchDecoder);
    } finally {
      // The instance's own property goes: its prototype's slice is kafkajs's again.
      Reflect.deleteProperty(fetchDecoder, 'slice');
    }
  };
}

/** Puts the own-bytes batch decoder in place of kafkajs's (once per process). */
export function patchKafkajsRecordBatchDecoder(): void {
  replaceKafkajsModule<BatchDecoder>(BATCH_MODULE, PATCHED, (original) =>
    ownBytesBatchDecoder(
      original,
      kafkajsModule<new (buffer: Buffer) => { buffer: Buffer }>('kafkajs/src/protocol/decoder'),
    ),
  );
}

patchKafkajsRecordBatchDecoder();
