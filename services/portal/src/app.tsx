import { useEffect, useRef, useState } from 'preact/hooks';
import { setUnauthenticatedHandler } from './api/client';
import { ApiProblem } from './api/problem';
import { Loading, ProblemBox } from './components/states';
import { ApiKeys } from './pages/api-keys';
import { Invoice } from './pages/invoice';
import { Invoices } from './pages/invoices';
import { Overview } from './pages/overview';
import { SignIn } from './pages/sign-in';
import { Usage } from './pages/usage';
import { type Route, href, useRoute } from './router';
import { type Session, currentSession, linkTokenInFragment, signIn, signOut } from './session';

const NAV: readonly { route: Route; label: string }[] = [
  { route: { page: 'overview' }, label: 'Overview' },
  { route: { page: 'usage' }, label: 'Usage' },
  { route: { page: 'invoices' }, label: 'Invoices' },
  { route: { page: 'keys' }, label: 'API keys' },
];

type Start =
  | { readonly state: 'loading' }
  | { readonly state: 'error'; readonly problem: ApiProblem }
  | { readonly state: 'ready' };

export function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [start, setStart] = useState<Start>({ state: 'loading' });
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    setUnauthenticatedHandler(() => {
      setSession(null);
      setNotice('Your session has ended (it expired or was signed out). Sign in again.');
    });
    const link = linkTokenInFragment(location.hash);
    // An admin link (#link=<token>): exchange it, then take the token out of the address bar
    // and the history at once.
    if (link !== null) history.replaceState(null, '', `${location.pathname}#/overview`);
    const begin = link === null ? currentSession() : signIn({ linkToken: link });
    begin.then(
      (s) => {
        setSession(s);
        setStart({ state: 'ready' });
      },
      (error: unknown) => {
        const problem = error instanceof ApiProblem ? error : ApiProblem.network(error);
        if (link !== null && problem.status >= 400 && problem.status < 500) {
          setNotice(
            'That admin link was not accepted: it has expired or was already used. Ask for a new one.',
          );
          setStart({ state: 'ready' });
        } else {
          setStart({ state: 'error', problem });
        }
      },
    );
  }, []);

  if (start.state === 'loading') {
    return (
      <main id="main">
        <Loading what="the portal" />
      </main>
    );
  }
  if (start.state === 'error') {
    return (
      <main id="main">
        <h1>Tenant portal</h1>
        <ProblemBox problem={start.problem} retry={() => location.reload()} />
      </main>
    );
  }
  if (session === null) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(s) => {
          setNotice(null);
          setSession(s);
          if (!location.hash.startsWith('#/')) location.hash = '#/overview';
        }}
      />
    );
  }
  return (
    <Shell
      session={session}
      onSignOut={() => {
        void signOut(session.csrfToken).finally(() => {
          setSession(null);
          setNotice('You are signed out.');
        });
      }}
    />
  );
}

function Shell({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const route = useRoute();
  const main = useRef<HTMLElement>(null);
  // Keyboard and screen-reader users land on the new page's heading.
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.querySelector<HTMLElement>('h1')?.focus();
  }, [route]);
  const current = route.page === 'invoice' ? 'invoices' : route.page;

  return (
    <>
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          main.current?.querySelector<HTMLElement>('h1')?.focus();
        }}
      >
        Skip to content
      </a>
      <header class="top">
        <div class="brand">
          <span class="tenant">{session.tenantName}</span>
          <span class="tenant-id">
            {session.tenantId} · {session.currency} · {session.timeZone}
          </span>
        </div>
        <nav aria-label="Portal">
          <ul>
            {NAV.map((n) => (
              <li key={n.label}>
                <a
                  href={href(n.route)}
                  aria-current={current === n.route.page ? 'page' : undefined}
                >
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <button type="button" class="sign-out" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      {session.readOnly ? (
        <p class="read-only" role="note">
          Read-only view opened by your provider: nothing can be changed here.
        </p>
      ) : null}
      <main id="main" ref={main}>
        <Page route={route} session={session} />
      </main>
    </>
  );
}

function Page({ route, session }: { route: Route; session: Session }) {
  switch (route.page) {
    case 'overview':
      return <Overview session={session} />;
    case 'usage':
      return <Usage session={session} />;
    case 'invoices':
      return <Invoices session={session} />;
    case 'invoice':
      return <Invoice session={session} period={route.period} />;
    case 'keys':
      return <ApiKeys session={session} />;
    case 'not-found':
      return (
        <>
          <h1 tabIndex={-1}>Page not found</h1>
          <p>
            There is no page at “{route.path}”. Go to the{' '}
            <a href={href({ page: 'overview' })}>overview</a>.
          </p>
        </>
      );
  }
}
