import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { patchKafkajsRequestQueue, type RequestQueueShape } from './kafkajs-request-queue.patch';

// kafkajs's own RequestQueue, patched, driven the way its Connection drives it.

interface Entry {
  correlationId: number;
  apiKey: number;
  apiName: string;
  apiVersion: number;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}
interface Queue extends RequestQueueShape {
  push(request: {
    entry: Entry;
    expectResponse: boolean;
    sendRequest: () => void;
    requestTimeout?: number;
  }): void;
  fulfillRequest(response: { correlationId: number; payload: Buffer; size: number }): void;
  maybeThrottle(ms: number): void;
}
interface QueueClass {
  new (options: Record<string, unknown>): Queue;
  prototype: Queue;
}

const RequestQueue = createRequire(__filename)('kafkajs/src/network/requestQueue') as QueueClass;
patchKafkajsRequestQueue();

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

function queue(requestTimeout = 60_000, connected = true): Queue {
  const q = new RequestQueue({
    maxInFlightRequests: null,
    requestTimeout,
    enforceRequestTimeout: true,
    clientId: 'spec',
    broker: '127.0.0.1:1',
    logger: quiet,
    isConnected: () => connected,
  });
  q.scheduleRequestTimeoutCheck(); // what Connection does once connected
  return q;
}

let nextId = 1;
function request(): { entry: Entry; outcome: Promise<unknown> } {
  const correlationId = nextId++;
  let entry!: Entry;
  const outcome = new Promise((resolve, reject) => {
    entry = { correlationId, apiKey: 1, apiName: 'Fetch', apiVersion: 11, resolve, reject };
  });
  outcome.catch(() => undefined);
  return { entry, outcome };
}

test('an idle connection arms no timer (kafkajs 2.2.4 loops every 1 ms and polls every 100 ms)', () => {
  const q = queue();
  q.checkPendingRequests(); // what every fulfilled request ends with
  assert.equal(q.throttleCheckTimeoutId, null);
  assert.ok(!q.requestTimeoutTimer);
  q.destroy();
});

test('a request in flight times out at its deadline; a completed one leaves no timer', async () => {
  const q = queue(40);
  const slow = request();
  const fast = request();
  // The deadline runs from the push; measured from there, a loaded machine cannot make the
  // time waited look short (it only makes it longer).
  const pushedAt = Date.now();
  q.push({ entry: slow.entry, expectResponse: true, sendRequest: () => undefined });
  q.push({ entry: fast.entry, expectResponse: true, sendRequest: () => undefined });
  assert.ok(q.requestTimeoutTimer, 'armed while requests are in flight');
  q.fulfillRequest({ correlationId: fast.entry.correlationId, payload: Buffer.alloc(0), size: 0 });
  await fast.outcome;
  await assert.rejects(slow.outcome, (e: Error) => e.name === 'KafkaJSRequestTimeoutError');
  assert.ok(Date.now() - pushedAt >= 39, 'not before its deadline');
  assert.equal(q.inflight.size, 0);
  assert.ok(!q.requestTimeoutTimer, 'nothing in flight: no timer');
  q.destroy();
});

test('a later request with an earlier deadline brings the timer forward', async () => {
  const q = queue(20);
  const fetch = request();
  q.push({
    entry: fetch.entry,
    expectResponse: true,
    sendRequest: () => undefined,
    requestTimeout: 60_000, // a long poll's own timeout
  });
  const short = request();
  q.push({ entry: short.entry, expectResponse: true, sendRequest: () => undefined });
  const started = Date.now();
  await assert.rejects(short.outcome, (e: Error) => e.name === 'KafkaJSRequestTimeoutError');
  assert.ok(Date.now() - started < 5_000, 'timed out at its own deadline');
  assert.ok(q.requestTimeoutTimer, 'still armed for the long poll');
  q.fulfillRequest({ correlationId: fetch.entry.correlationId, payload: Buffer.alloc(0), size: 0 });
  await fetch.outcome;
  q.destroy();
  assert.ok(!q.requestTimeoutTimer);
});

test('a throttled request waits, then is sent; the queue then sleeps again', async () => {
  const q = queue();
  const sent: number[] = [];
  q.maybeThrottle(30);
  const r = request();
  q.push({
    entry: r.entry,
    expectResponse: true,
    sendRequest: () => sent.push(r.entry.correlationId),
  });
  assert.deepEqual(sent, [], 'held while throttled');
  assert.ok(q.throttleCheckTimeoutId, 'a check is armed for when the throttle ends');
  await sleep(80);
  assert.deepEqual(sent, [r.entry.correlationId]);
  q.fulfillRequest({ correlationId: r.entry.correlationId, payload: Buffer.alloc(0), size: 0 });
  await r.outcome;
  assert.equal(q.throttleCheckTimeoutId, null);
  q.destroy();
});

test('a disconnected queue stops its timer when it fires (its socket rejects the rest)', async () => {
  const q = queue(20, false);
  const r = request();
  q.push({ entry: r.entry, expectResponse: true, sendRequest: () => undefined });
  assert.ok(q.requestTimeoutTimer);
  await sleep(100);
  assert.ok(!q.requestTimeoutTimer);
});

test('patching twice changes nothing', () => {
  const before = RequestQueue.prototype.sendSocketRequest;
  patchKafkajsRequestQueue();
  assert.equal(RequestQueue.prototype.sendSocketRequest, before);
});
