import { type Logger, type MetricsRegistry } from '@metering/observability';
import {
  type ClockStep,
  type ClockStepDirection,
  CollectorClock,
  type CollectorClockOptions,
} from './collector-clock';

export interface ObservedClockOptions extends Omit<CollectorClockOptions, 'onStep'> {
  /** `<service>_clock_steps_total{direction}` and `<service>_clock_offset_seconds`. */
  readonly metrics?: MetricsRegistry;
  readonly logger?: Logger;
}

const DIRECTIONS: readonly ClockStepDirection[] = ['forward', 'backward'];

/**
 * A CollectorClock whose steps are counted and logged: a step is an event an operator should see
 * (an NTP daemon stepping instead of slewing, a resumed VM, someone running `date -s`).
 */
export function observedCollectorClock(options: ObservedClockOptions = {}): CollectorClock {
  const { metrics, logger, ...clockOptions } = options;
  const steps = metrics?.counter<'direction'>({
    name: 'clock_steps_total',
    help:
      'Steps of the host wall clock against the monotonic clock (beyond the threshold): ' +
      'forward steps are followed at once, backward ones absorbed by running slower',
    labelNames: ['direction'],
  });
  for (const direction of DIRECTIONS) steps?.inc({ direction }, 0);
  const onStep = (step: ClockStep): void => {
    steps?.inc({ direction: step.direction });
    logger?.warn(
      {
        direction: step.direction,
        stepMs: Math.round(step.stepMs),
        offsetMs: Math.round(step.offsetMs),
        convergesInMs: step.offsetMs > 0 ? Math.round(step.offsetMs / clock.slewRate) : 0,
      },
      step.direction === 'forward'
        ? 'the wall clock stepped forward: samples follow it (one longer interval)'
        : 'the wall clock stepped backward: samples keep monotonic time and converge on it slowly',
    );
  };
  const clock = new CollectorClock({ ...clockOptions, onStep });
  metrics?.gauge({
    name: 'clock_offset_seconds',
    help:
      'Sample time minus the host wall clock, seconds: > 0 while a backward step is absorbed ' +
      '(samples stay ahead of the wall clock until it catches up)',
    collect() {
      clock.now(); // a scrape also notices a step while nothing is sampled
      this.set(clock.offsetMs / 1000);
    },
  });
  return clock;
}
