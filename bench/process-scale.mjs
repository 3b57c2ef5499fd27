#!/usr/bin/env node
// bench/process-scale — docker-collector as a whole process at 1,000 and 10,000 containers; the code is TypeScript in
// services/docker-collector/bench/process-scale.bench.ts (typed and linted with the service).
//   node bench/process-scale.mjs [--option value]…   (or: npm run bench:process-scale -w @metering/docker-collector)
import { runTsBench } from './ts-bench.mjs';

runTsBench('services/docker-collector', 'process-scale');
