import { useState } from 'preact/hooks';
import { ApiProblem, advice } from '../api/problem';
import { type Session, signIn } from '../session';

/** Sign-in with a tenant API key; the key is sent once and never stored by the page. */
export function SignIn({
  notice,
  onSignedIn,
}: {
  notice: string | null;
  onSignedIn: (session: Session) => void;
}) {
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ApiProblem | null>(null);

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    if (key.trim() === '') {
      setProblem(new ApiProblem(400, 'VALIDATION_FAILED', 'Enter your API key.', 'API key'));
      return;
    }
    setBusy(true);
    setProblem(null);
    try {
      const session = await signIn({ apiKey: key.trim() });
      setKey('');
      onSignedIn(session);
    } catch (error) {
      setProblem(error instanceof ApiProblem ? error : ApiProblem.network(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="sign-in">
      <h1>Tenant portal</h1>
      <p>Your usage, spend and invoices. Sign in with one of your tenant’s API keys.</p>
      {notice === null ? null : (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <form onSubmit={(e) => void submit(e)} noValidate>
        <label for="api-key">API key</label>
        <input
          id="api-key"
          name="apiKey"
          type="password"
          autocomplete="off"
          spellcheck={false}
          value={key}
          onInput={(e) => setKey(e.currentTarget.value)}
          aria-describedby="api-key-help"
          aria-invalid={problem !== null}
        />
        <p id="api-key-help" class="hint">
          It starts with <code>mk_</code>. Your provider gives it to you; it is sent once to start a
          session and is not kept by this page.
        </p>
        {problem === null ? null : (
          <p class="error" role="alert">
            {problem.code === 'UNAUTHENTICATED'
              ? 'That key was not accepted: check it was copied whole and has not been revoked.'
              : `${problem.detail} ${advice(problem)}`}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
