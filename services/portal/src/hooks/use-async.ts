import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiProblem } from '../api/problem';

export type Async<T> =
  | { readonly state: 'loading' }
  | { readonly state: 'error'; readonly problem: ApiProblem }
  | { readonly state: 'ok'; readonly data: T };

/** Runs `load` whenever `deps` change; the latest answer wins. */
export function useAsync<T>(
  load: () => Promise<T>,
  deps: readonly unknown[],
): [Async<T>, () => void] {
  const [result, setResult] = useState<Async<T>>({ state: 'loading' });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    setResult({ state: 'loading' });
    load().then(
      (data) => current && setResult({ state: 'ok', data }),
      (error: unknown) =>
        current &&
        setResult({
          state: 'error',
          problem: error instanceof ApiProblem ? error : ApiProblem.network(error),
        }),
    );
    return () => {
      current = false;
    };
  }, [...deps, round]);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  return [result, reload];
}
