#!/usr/bin/env node
// bench/churn-completeness — the docker-collector's benchmark; the code is TypeScript in
// services/docker-collector/bench/churn-completeness.bench.ts (typed and linted with the service).
//   node bench/churn-completeness.mjs [--option value]…   (or: npm run bench:churn -w @metering/docker-collector)
import { runTsBench } from './ts-bench.mjs';

runTsBench('services/docker-collector', 'churn-completeness');
