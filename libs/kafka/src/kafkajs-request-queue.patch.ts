import { createRequire } from 'node:module';

// kafkajs 2.2.4 keeps every connection's thread awake with nothing to do (issue 18: rating at
// rest ~860 wake-ups/s on each of its two threads, 6-12 % of a core):
// - scheduleCheckPendingRequests arms `setTimeout(check, throttledUntil - now)` even when no
//   request waits; unthrottled that delay is negative (1 ms), and the check re-arms itself:
//   a 1 ms loop for the life of the connection (tulios/kafkajs#1556, #1704; unfixed upstream);
// - each connection polls its in-flight requests for timeouts every 100 ms
//   (scheduleRequestTimeoutCheck), in flight or not.
// Here, on the shared prototype (so every kafkajs client in the process, the producer thread's
// too): the pending check is armed only while a request waits, and the request-timeout check is
// one timer at the earliest in-flight deadline, armed while something is in flight. Requests
// time out at the same deadlines as before (to the timer's precision rather than 100 ms).

const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10; // kafkajs's own delay while throttled

interface SocketRequestShape {
  readonly correlationId: number;
  readonly requestTimeout: number;
  sentAt: number | null;
  timeoutRequest(): void;
}

/** The parts of kafkajs's RequestQueue the patch reads and replaces. */
export interface RequestQueueShape {
  readonly inflight: Map<number, SocketRequestShape>;
  pending: SocketRequestShape[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  readonly enforceRequestTimeout: boolean;
  isConnected(): boolean;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
  scheduleRequestTimeoutCheck(): void;
  sendSocketRequest: (this: RequestQueueShape, request: SocketRequestShape) => void;
  destroy: (this: RequestQueueShape) => void;
  /** Set by this patch: the request-timeout timer and when it fires. */
  requestTimeoutTimer?: NodeJS.Timeout | null;
  requestTimeoutAt?: number;
  requestTimeoutEnabled?: boolean;
}

const PATCHED = Symbol.for('metering.kafkajs.request-queue.idle');

type RequestQueueClass = { prototype: RequestQueueShape & { [PATCHED]?: true } };

function loadRequestQueue(): RequestQueueClass {
  const require = createRequire(__filename);
  // kafkajs has no "exports" map; its internals are reachable by path.
  return require('kafkajs/src/network/requestQueue') as RequestQueueClass;
}

/** Arms the request-timeout timer for the earliest deadline among in-flight requests. */
function armRequestTimeout(queue: RequestQueueShape): void {
  let earliest = Number.POSITIVE_INFINITY;
  for (const request of queue.inflight.values()) {
    if (request.sentAt !== null)
      earliest = Math.min(earliest, request.sentAt + request.requestTimeout);
  }
  if (earliest === Number.POSITIVE_INFINITY) {
    clearRequestTimeout(queue);
    return;
  }
  if (queue.requestTimeoutTimer && (queue.requestTimeoutAt ?? 0) <= earliest) return;
  clearRequestTimeout(queue);
  queue.requestTimeoutAt = earliest;
  queue.requestTimeoutTimer = setTimeout(
    () => {
      queue.requestTimeoutTimer = null;
      const now = Date.now();
      for (const request of [...queue.inflight.values()]) {
        if (request.sentAt !== null && now - request.sentAt > request.requestTimeout) {
          request.timeoutRequest();
        }
      }
      if (!queue.isConnected()) queue.destroy();
      else armRequestTimeout(queue);
      // +1: kafkajs times a request out once strictly more than requestTimeout has passed.
    },
    Math.max(0, earliest - Date.now() + 1),
  );
}

function clearRequestTimeout(queue: RequestQueueShape): void {
  if (queue.requestTimeoutTimer) clearTimeout(queue.requestTimeoutTimer);
  queue.requestTimeoutTimer = null;
}

/** Applies the patch to kafkajs's RequestQueue (once per process; later calls do nothing). */
export function patchKafkajsRequestQueue(RequestQueue = loadRequestQueue()): void {
  const proto = RequestQueue.prototype;
  if (proto[PATCHED]) return;
  for (const name of [
    'scheduleCheckPendingRequests',
    'scheduleRequestTimeoutCheck',
    'sendSocketRequest',
    'destroy',
  ] as const) {
    if (typeof proto[name] !== 'function') {
      throw new Error(`kafkajs RequestQueue has no ${name}: review kafkajs-request-queue.patch.ts`);
    }
  }
  const originalSend = proto.sendSocketRequest;
  const originalDestroy = proto.destroy;

  proto.scheduleCheckPendingRequests = function (this: RequestQueueShape): void {
    // Nothing waits: push() schedules again when something does.
    if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
    const throttledFor = this.throttledUntil - Date.now();
    this.throttleCheckTimeoutId = setTimeout(
      () => {
        this.throttleCheckTimeoutId = null;
        this.checkPendingRequests();
      },
      throttledFor > 0 ? throttledFor : CHECK_PENDING_REQUESTS_INTERVAL_MS,
    );
  };

  proto.scheduleRequestTimeoutCheck = function (this: RequestQueueShape): void {
    // Called on connect; the timer itself is armed by the first request sent.
    this.destroy();
    this.requestTimeoutEnabled = this.enforceRequestTimeout;
  };

  proto.sendSocketRequest = function (this: RequestQueueShape, request: SocketRequestShape): void {
    originalSend.call(this, request);
    if (this.requestTimeoutEnabled && this.inflight.has(request.correlationId)) {
      armRequestTimeout(this);
    }
  };

  proto.destroy = function (this: RequestQueueShape): void {
    originalDestroy.call(this);
    clearRequestTimeout(this);
  };

  proto[PATCHED] = true;
}
