#!/usr/bin/env node
// bench/collector-scale — the docker-collector's benchmark; the code is TypeScript in
// services/docker-collector/bench/collector-scale.bench.ts (typed and linted with the service).
//   node bench/collector-scale.mjs [--option value]…   (or: npm run bench:collector-scale -w @metering/docker-collector)
import { runTsBench } from './ts-bench.mjs';

runTsBench('services/docker-collector', 'collector-scale');
