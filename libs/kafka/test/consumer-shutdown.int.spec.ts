import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { waitFor } from '@metering/testing';
import { testKafka } from './kafka.fixtures';

const { factory, topic, group } = testKafka('shutdown');
let child: ChildProcess | undefined;

after(() => {
  // Only if the test failed before the child ended.
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

test('SIGTERM stops the consumer, leaves the group and ends the process', async () => {
  await factory.ensureTopics([{ topic, numPartitions: 2 }]);
  const producer = factory.createProducer();
  await producer.connect();
  await producer.send(topic, [{ key: 'k', value: 'v' }]);
  await producer.disconnect();

  const lines: { msg?: string }[] = [];
  child = spawn(
    process.execPath,
    [join(__dirname, 'fixtures', 'signal-consumer.js'), topic, group],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line) as { msg?: string });
    } catch {
      lines.push({ msg: line });
    }
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;

  await waitFor(() => lines.some((line) => line.msg === 'fixture handled a batch'), {
    timeoutMs: 30_000,
    description: 'the child to consume',
  });
  child.kill('SIGTERM');
  const [code, signal] = await Promise.race([
    exited,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('the child did not exit within 20 s')), 20_000).unref(),
    ),
  ]);

  const messages = lines.map((line) => line.msg);
  assert.ok(messages.includes('shutting down on signal'), messages.join(' | '));
  assert.ok(messages.includes('consumer disconnected'), messages.join(' | '));
  // The signal was raised again after the clean shutdown: the default effect, no exit code.
  assert.equal(signal, 'SIGTERM');
  assert.equal(code, null);

  // It left the group instead of vanishing: no member waits out a session timeout.
  const admin = factory.kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([group]);
    assert.equal(groups[0]?.members.length, 0);
    assert.equal(groups[0]?.state, 'Empty');
  } finally {
    await admin.disconnect();
  }
});
