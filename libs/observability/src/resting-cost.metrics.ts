import { performance } from 'node:perf_hooks';
import { Counter, type Registry } from 'prom-client';

/**
 * Event-loop lag is sampled once a second, not prom-client's every 10 ms: its timer alone woke
 * every service 100 times a second (issue 18). Blocking of the loop still shows, in full, in
 * nodejs_eventloop_active_seconds_total below.
 */
export const EVENT_LOOP_LAG_RESOLUTION_MS = 1_000;

/**
 * What a service costs while it waits, beside prom-client's process_cpu_seconds_total: the
 * event loop's busy time and the threads' context switches (getrusage, all threads; a
 * voluntary switch is a thread going to sleep, so their rate is the wake-up rate). Read at
 * scrape time only: the metrics themselves wake nothing.
 */
export function registerRestingCostMetrics(registry: Registry): void {
  new Counter({
    name: 'nodejs_eventloop_active_seconds_total',
    help: 'Time the main event loop spent running callbacks (rate() = event-loop utilisation).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(performance.eventLoopUtilization().active / 1000);
    },
  });
  new Counter({
    name: 'process_voluntary_context_switches_total',
    help: 'Times a thread of the process went to sleep (rate() = wake-ups per second).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(process.resourceUsage().voluntaryContextSwitches);
    },
  });
  new Counter({
    name: 'process_involuntary_context_switches_total',
    help: 'Times a thread of the process was preempted by the kernel.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(process.resourceUsage().involuntaryContextSwitches);
    },
  });
}
