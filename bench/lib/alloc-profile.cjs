// A preload (node --require) that samples every allocation of the process, kept or collected, and
// writes a .heapprofile (Chrome DevTools' format; bench/alloc-profile-summary.mjs aggregates it)
// into ALLOC_PROFILE_DIR when the process exits. For bench/rating-throughput.mjs:
//   --node-arg=--require=./bench/lib/alloc-profile.cjs --env ALLOC_PROFILE_DIR=/tmp/x
// V8's sampling heap profiler forgets the objects the GC collected unless told to keep them; the
// bytes allocated per sample are what the young generation's scavenges cost. With
// ALLOC_PROFILE_SURVIVORS=1 it forgets those a scavenge collected and keeps those a full
// collection did: what survived the young generation (promoted, or still young when written), by
// allocation site — what the full collections then mark.
'use strict';
const inspector = require('node:inspector');
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { threadId } = require('node:worker_threads');

const dir = process.env.ALLOC_PROFILE_DIR;
if (dir !== undefined && dir !== '') {
  const session = new inspector.Session();
  session.connect();
  session.post('HeapProfiler.enable');
  session.post('HeapProfiler.startSampling', {
    samplingInterval: Number(process.env.ALLOC_PROFILE_INTERVAL ?? 32768),
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: process.env.ALLOC_PROFILE_SURVIVORS !== '1',
  });
  // The process may end by a signal (no 'exit' event): the profile so far is written every few
  // seconds, and at exit when there is one.
  const file = join(dir, `alloc.${process.pid}.${threadId}.heapprofile`);
  const write = () =>
    session.post('HeapProfiler.getSamplingProfile', (error, result) => {
      if (error) return void process.stderr.write(`alloc-profile: ${error.message}\n`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(file, JSON.stringify(result.profile));
    });
  setInterval(write, Number(process.env.ALLOC_PROFILE_EVERY_MS ?? 3000)).unref();
  process.once('exit', write);
}
