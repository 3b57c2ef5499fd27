import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeExit, logTail, watchExit, type UnexpectedExit } from './service-process';

/** A child that logs `lines` (through a pipe into `logFile`, as spawnService does), then `ends`. */
function loggingChild(logFile: string, lines: string[], ends: string) {
  const code = `for (const l of ${JSON.stringify(lines)}) console.log(l); ${ends}`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  return child;
}

function watched(
  child: ReturnType<typeof loggingChild>,
  logFile: string,
  expected: () => boolean,
): Promise<UnexpectedExit | 'not reported'> {
  return new Promise((resolve) => {
    // The report comes 100 ms after the close; 2 s without one is none (this timer also keeps
    // the test's event loop alive meanwhile: watchExit's own does not).
    let none: NodeJS.Timeout | undefined;
    watchExit('vm-collector', child, logFile, expected, (exit) => {
      clearTimeout(none);
      resolve(exit);
    });
    child.once('close', () => (none = setTimeout(() => resolve('not reported'), 2_000)));
  });
}

test('a service that exits on its own is reported with its code and the end of its log, non-ASCII and all', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'exit-watch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const logFile = join(dir, 'svc.log');
  const lines = Array.from({ length: 40 }, (_, i) => `line ${i} — ünïcode`);
  const child = loggingChild(logFile, lines, 'process.exit(3)');
  const exit = await watched(child, logFile, () => false);
  assert.notEqual(exit, 'not reported');
  if (exit === 'not reported') return;
  assert.equal(exit.name, 'vm-collector');
  assert.equal(exit.code, 3);
  assert.equal(exit.signal, null);
  // The last 15 lines, the very last one included (written just before the exit).
  assert.equal(exit.tail, lines.slice(-15).join('\n'));
  assert.match(describeExit(exit), /^vm-collector exited while running \(code 3\); the end of /);
});

test('a killed service is reported with its signal', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'exit-watch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const logFile = join(dir, 'svc.log');
  const child = loggingChild(logFile, ['started'], 'setInterval(() => {}, 1000)');
  const report = watched(child, logFile, () => false);
  child.stdout.once('data', () => child.kill('SIGKILL'));
  const exit = await report;
  assert.notEqual(exit, 'not reported');
  if (exit === 'not reported') return;
  assert.equal(exit.signal, 'SIGKILL');
  assert.equal(exit.tail, 'started');
  assert.match(describeExit(exit), /\(signal SIGKILL\)/);
});

test('an exit that was expected (stopped or killed on purpose) is not reported', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'exit-watch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const logFile = join(dir, 'svc.log');
  const child = loggingChild(logFile, ['bye'], 'process.exit(0)');
  assert.equal(await watched(child, logFile, () => true), 'not reported');
});

test('a child that had exited before it was watched is reported too', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'exit-watch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const logFile = join(dir, 'svc.log');
  const child = loggingChild(logFile, ['gone'], 'process.exit(5)');
  await new Promise((resolve) => child.once('close', resolve));
  const alive = setTimeout(() => undefined, 5_000);
  const exit = await new Promise<UnexpectedExit>((resolve) =>
    watchExit('rating', child, logFile, () => false, resolve),
  );
  clearTimeout(alive);
  assert.equal(exit.code, 5);
  assert.equal(exit.name, 'rating');
});

test('logTail: a missing file is empty, NUL and trailing newlines are kept out of the count', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'exit-watch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal(logTail(join(dir, 'absent.log')), '');
  const file = join(dir, 'odd.log');
  writeFileSync(file, 'a\nb\u0000c\nd\n\n\n');
  assert.equal(logTail(file, 2), 'b\u0000c\nd');
  assert.equal(logTail(file, 0), '');
});
