import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { waitFor } from '@metering/testing';
import { type ContainerEvent } from './container-event';
import { DockerEventsWatcher } from './docker-events.watcher';

const line = (action: string, id: string, seconds: number): string =>
  `${JSON.stringify({ Type: 'container', Action: action, Actor: { ID: id }, time: seconds, timeNano: seconds * 1e9 })}\n`;

describe('DockerEventsWatcher', () => {
  test('decodes events split across chunks, reconnects from the last event, reports it', async () => {
    const streams: PassThrough[] = [];
    const sinces: Array<number | undefined> = [];
    const events: ContainerEvent[] = [];
    let reconnects = 0;
    let errors = 0;
    const watcher = new DockerEventsWatcher(
      (since) => {
        sinces.push(since);
        const stream = new PassThrough();
        streams.push(stream);
        return Promise.resolve(stream);
      },
      {
        onEvent: (e) => events.push(e),
        onReconnect: () => (reconnects += 1),
        onStreamError: () => (errors += 1),
      },
      { minBackoffMs: 5, maxBackoffMs: 20 },
    );
    watcher.start(100);
    await waitFor(() => streams.length === 1, { timeoutMs: 2000, intervalMs: 2 });
    const first = line('start', 'a', 101);
    streams[0]!.write(first.slice(0, 20));
    streams[0]!.write(first.slice(20) + line('exec_start: sh', 'a', 102) + 'not json\n');
    streams[0]!.write(line('die', 'a', 103));
    await waitFor(() => events.length === 2, { timeoutMs: 2000, intervalMs: 2 });
    assert.equal(watcher.connected, true);
    streams[0]!.destroy(new Error('engine restarted'));
    await waitFor(() => streams.length === 2, { timeoutMs: 2000, intervalMs: 2 });
    assert.deepEqual(sinces, [100, 103]);
    assert.equal(errors, 1);
    await waitFor(() => reconnects === 1, { timeoutMs: 2000, intervalMs: 2 });
    streams[1]!.end(line('start', 'b', 104));
    await waitFor(() => events.length === 3, { timeoutMs: 2000, intervalMs: 2 });
    assert.deepEqual(
      events.map((e) => `${e.action}:${e.containerId}`),
      ['start:a', 'die:a', 'start:b'],
    );
    await watcher.stop();
    assert.equal(watcher.connected, false);
  });

  test('a failing open is retried with backoff until stopped', async () => {
    let opens = 0;
    const watcher = new DockerEventsWatcher(
      () => {
        opens += 1;
        return Promise.reject(new Error('connect ENOENT /var/run/docker.sock'));
      },
      { onEvent: () => undefined, onReconnect: () => undefined, onStreamError: () => undefined },
      { minBackoffMs: 1, maxBackoffMs: 4 },
    );
    watcher.start(undefined);
    await waitFor(() => opens >= 4, { timeoutMs: 2000, intervalMs: 2 });
    await watcher.stop();
    const after = opens;
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(opens, after, 'no attempts after stop');
  });
});
