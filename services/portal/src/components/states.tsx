import type { ComponentChildren } from 'preact';
import { type ApiProblem, advice } from '../api/problem';

export function Loading({ what }: { what: string }) {
  return (
    <p class="state" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function ProblemBox({ problem, retry }: { problem: ApiProblem; retry?: () => void }) {
  return (
    <div class="problem" role="alert">
      <p>
        <strong>{problem.detail}</strong>
      </p>
      <p>
        {advice(problem)} <span class="code">({problem.code})</span>
      </p>
      {retry === undefined ? null : (
        <button type="button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="empty">{children}</div>;
}
