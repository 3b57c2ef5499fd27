import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationEnd } from './application-end';

test('a fatal error ends the application once, through what the entry bound', async () => {
  const end = new ApplicationEnd();
  await end.fatal(new Error('before anything is bound')); // a test's module: stays open
  const ended: unknown[] = [];
  let finish = (): void => undefined;
  end.bind((error) => {
    ended.push(error);
    return new Promise<void>((resolve) => (finish = resolve));
  });
  const first = end.fatal(new Error('first'));
  const second = end.fatal(new Error('second'));
  finish();
  await Promise.all([first, second]);
  assert.deepEqual(
    ended.map((e) => (e as Error).message),
    ['first'],
  );
});
