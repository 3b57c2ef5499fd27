import { useState } from 'preact/hooks';
import { api, call } from '../api/client';
import type { components } from '../api/billing-api';
import { ApiProblem } from '../api/problem';
import { Empty, Loading, ProblemBox } from '../components/states';
import { localDateTime } from '../format';
import { useAsync } from '../hooks/use-async';
import type { Session } from '../session';

type Created = components['schemas']['ApiKeyCreatedDto'];

/** The tenant's API keys: create (the secret is shown once), last use, revoke. */
export function ApiKeys({ session }: { session: Session }) {
  const [keys, reload] = useAsync(
    () => call(api.GET('/v1/api-keys', { params: { query: { status: 'active', limit: 200 } } })),
    [session.tenantId],
  );
  const [created, setCreated] = useState<Created | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const tz = session.timeZone;

  const act = async (what: () => Promise<void>): Promise<void> => {
    setBusy(true);
    setProblem(null);
    setDone(null);
    try {
      await what();
    } catch (error) {
      setProblem(error instanceof ApiProblem ? error : ApiProblem.network(error));
    } finally {
      setBusy(false);
    }
  };

  const create = () =>
    act(async () => {
      const key = await call(
        api.POST('/v1/tenants/{id}/api-keys', { params: { path: { id: session.tenantId } } }),
      );
      setCreated(key);
      reload();
    });

  const revoke = (keyId: string) =>
    act(async () => {
      await call(
        api.DELETE('/v1/tenants/{id}/api-keys/{keyId}', {
          params: { path: { id: session.tenantId, keyId } },
        }),
      );
      setConfirming(null);
      setDone(`Key ${keyId} is revoked: requests with it now fail.`);
      reload();
    });

  return (
    <>
      <h1 tabIndex={-1}>API keys</h1>
      <p>
        Keys let your programs call the billing API and sign in here. Only a key’s hash is kept: a
        new key is shown once.
      </p>
      {session.readOnly ? (
        <p class="notice">This read-only view cannot create or revoke keys.</p>
      ) : (
        <p>
          <button type="button" onClick={() => void create()} disabled={busy}>
            Create API key
          </button>
        </p>
      )}
      {created === null ? null : (
        <div class="created" role="status">
          <p>
            <strong>New key {created.id}. Copy it now: it is not shown again.</strong>
          </p>
          <label>
            Your new API key
            <input
              type="text"
              readOnly
              value={created.key}
              data-testid="new-key"
              onFocus={(e) => e.currentTarget.select()}
            />
          </label>
          <button
            type="button"
            onClick={() => void navigator.clipboard?.writeText(created.key).catch(() => undefined)}
          >
            Copy
          </button>{' '}
          <button type="button" onClick={() => setCreated(null)}>
            I have stored it
          </button>
        </div>
      )}
      {problem === null ? null : <ProblemBox problem={problem} />}
      {done === null ? null : (
        <p class="notice" role="status">
          {done}
        </p>
      )}
      {keys.state === 'loading' ? <Loading what="API keys" /> : null}
      {keys.state === 'error' ? <ProblemBox problem={keys.problem} retry={reload} /> : null}
      {keys.state === 'ok' && keys.data.data.length === 0 ? (
        <Empty>
          <p>No active keys. Create one to call the API from your programs.</p>
        </Empty>
      ) : null}
      {keys.state === 'ok' && keys.data.data.length > 0 ? (
        <div class="table-scroll" tabIndex={0} role="region" aria-label="API keys">
          <table>
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">Created ({tz})</th>
                <th scope="col">Last used ({tz})</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.data.data.map((k) => (
                <tr key={k.id}>
                  <td>
                    <code>{k.id}</code>
                    {k.id === session.apiKeyId ? (
                      <>
                        {' '}
                        <span class="badge current" data-testid="session-key">
                          this session
                        </span>
                      </>
                    ) : null}
                  </td>
                  <td>{localDateTime(k.createdAt, tz)}</td>
                  <td>{k.lastUsedAt === null ? 'never' : localDateTime(k.lastUsedAt, tz)}</td>
                  <td>
                    {session.readOnly ? null : confirming === k.id ? (
                      <span class="confirm" role="group" aria-label={`Revoke key ${k.id}?`}>
                        {k.id === session.apiKeyId
                          ? 'Revoke? You signed in with it: this session ends too, and programs using it stop working at once.'
                          : 'Revoke? Programs using it stop working at once.'}{' '}
                        <button
                          type="button"
                          class="danger"
                          onClick={() => void revoke(k.id)}
                          disabled={busy}
                        >
                          Yes, revoke {k.id}
                        </button>{' '}
                        <button type="button" onClick={() => setConfirming(null)}>
                          Cancel
                        </button>
                      </span>
                    ) : (
                      <button
                        type="button"
                        onClick={() => setConfirming(k.id)}
                        aria-label={`Revoke key ${k.id}`}
                      >
                        Revoke…
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}
