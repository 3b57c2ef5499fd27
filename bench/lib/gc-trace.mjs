// The rating process's garbage collection as V8 traces it (`--trace-gc-nvp`: one line of name=value
// pairs a collection), summed for the process's main isolate: figures that vary far less from run
// to run than samples/s on this machine (scavenges, promoted bytes), so a change to what rating
// allocates or keeps alive can be judged by them where the throughput cannot resolve it.
import { createInterface } from 'node:readline';

/** Fields of a collection's line that are summed (milliseconds, unless named bytes). */
const SUMMED = [
  'scavenge',
  'background.scavenge.parallel',
  'incremental',
  'background.mark',
  'background.sweep',
  'promoted',
  'new_space_survived',
];

/**
 * Reads a process's stdout: its GC lines are counted, any other line goes on to `forward`. The
 * main isolate is the first to collect (a worker thread's isolate starts later).
 */
export class GcTrace {
  constructor(stream, forward = (line) => process.stdout.write(`${line}\n`)) {
    this.isolate = null;
    this.scavenges = 0;
    this.fullCollections = 0;
    this.sums = Object.fromEntries(SUMMED.map((k) => [k, 0]));
    const lines = createInterface({ input: stream });
    lines.on('line', (line) => {
      if (!line.includes(' gc=')) return forward(line);
      this.add(line);
    });
    /** Resolves once the process's stdout has ended: every line counted. */
    this.closed = new Promise((resolve) => lines.once('close', resolve));
  }

  add(line) {
    const isolate = /^\[\d+:(0x[0-9a-f]+)\]/.exec(line)?.[1];
    this.isolate ??= isolate;
    if (isolate !== this.isolate) return;
    const fields = new Map();
    for (const pair of line.split(' ')) {
      const eq = pair.indexOf('=');
      if (eq > 0) fields.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    const kind = fields.get('gc');
    if (kind === 's') this.scavenges += 1;
    else if (kind === 'mc' || kind === 'mmc') this.fullCollections += 1;
    for (const k of SUMMED) {
      const v = Number(fields.get(k));
      if (Number.isFinite(v)) this.sums[k] += v;
    }
  }

  /** One line: the collections and what they cost, for `samples` samples. */
  summary(samples) {
    const s = this.sums;
    const mb = (bytes) => (bytes / 2 ** 20).toFixed(0);
    const sec = (ms) => (ms / 1000).toFixed(2);
    return (
      `GC of the main isolate: ${this.scavenges} scavenges (main thread ${sec(s.scavenge)} s, helpers ${sec(s['background.scavenge.parallel'])} s), ` +
      `survived ${mb(s.new_space_survived)} MB, promoted ${mb(s.promoted)} MB (${(s.promoted / samples).toFixed(0)} B a sample); ` +
      `${this.fullCollections} full collections, marking ${sec(s.incremental)} s on the main thread and ${sec(s['background.mark'])} s on the helpers, ` +
      `sweeping ${sec(s['background.sweep'])} s (wall time of V8's phases, --trace-gc-nvp)`
    );
  }
}
