import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.ts';
import { ApprovalLink, Approvals } from './approvals.tsx';
import { hasProvider, type Me, signIn, signOut, startAuth, useToken } from './auth.ts';
import { SessionDetail } from './detail.tsx';
import { LiveBastions, Reviews } from './reviews.tsx';
import { MySessions } from './sessions.tsx';
import { ErrorNote, messageOf } from './ui.tsx';
import { Usage } from './usage.tsx';

/** What the API lets this person do, found by asking it (it is the authority, not the page). */
interface Capabilities {
  admin: boolean;
  usage: boolean;
}

const allowed = (path: string): Promise<boolean> =>
  api('GET', path).then(
    () => true,
    () => false,
  );

async function probe(): Promise<Capabilities> {
  const [admin, usage] = await Promise.all([
    allowed('/sessions?all=true&limit=1'),
    allowed(`/usage?from=${new Date().toISOString().slice(0, 10)}&groupBy=day`),
  ]);
  return { admin, usage };
}

function useRoute(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const onChange = () => setHash(location.hash);
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return hash.replace(/^#/, '') || '/sessions';
}

function Page({ route, can }: { route: string; can: Capabilities }) {
  const [, section, id] = route.split('/');
  if (section === 'sessions' && id) return <SessionDetail id={decodeURIComponent(id)} />;
  if (section === 'approvals' && id) return <ApprovalLink id={decodeURIComponent(id)} />;
  if (section === 'approvals') return <Approvals />;
  if (section === 'reviews' && can.admin) return <Reviews />;
  if (section === 'live' && can.admin) return <LiveBastions />;
  if (section === 'usage' && can.usage) return <Usage />;
  return <MySessions />;
}

function Nav({ route, can, who }: { route: string; can: Capabilities; who: Me }) {
  const links: [string, string, boolean][] = [
    ['/sessions', 'My sessions', true],
    ['/approvals', 'Approvals', true],
    ['/reviews', 'Reviews', can.admin],
    ['/live', 'Live bastions', can.admin],
    ['/usage', 'Usage and cost', can.usage],
  ];
  return (
    <header class="top">
      <a class="brand" href="#/sessions">
        Drawbridge
      </a>
      <nav aria-label="Main">
        {links
          .filter(([, , shown]) => shown)
          .map(([path, label]) => (
            <a
              key={path}
              href={`#${path}`}
              aria-current={route.startsWith(path) ? 'page' : undefined}
            >
              {label}
            </a>
          ))}
      </nav>
      <span class="who" title={who.groups.join(', ')}>
        {who.subject}
      </span>
      <button type="button" class="secondary small" onClick={() => void signOut()}>
        Sign out
      </button>
    </header>
  );
}

function SignIn({ onToken }: { onToken: (who: Me | undefined) => void }) {
  const [provider, setProvider] = useState<boolean | undefined>(undefined);
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => void hasProvider().then(setProvider, () => setProvider(false)), []);
  return (
    <main class="signin">
      <h1>Drawbridge</h1>
      <p>Short-lived, approved, recorded access to private targets.</p>
      {provider ? (
        <button type="button" onClick={() => void signIn().catch((e) => setError(messageOf(e)))}>
          Sign in
        </button>
      ) : null}
      {provider === false ? (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            onToken(useToken(token));
          }}
        >
          <p class="muted">
            This API advertises no identity provider. Paste a bearer token (local development: the
            one <code>drawbridge login --local</code> stores).
          </p>
          <label>
            Token
            <textarea rows={3} value={token} onInput={(e) => setToken(e.currentTarget.value)} />
          </label>
          <button type="submit">Use this token</button>
        </form>
      ) : null}
      <ErrorNote error={error} />
    </main>
  );
}

function App() {
  const [who, setWho] = useState<Me | undefined | null>(null);
  const [can, setCan] = useState<Capabilities | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const route = useRoute();
  useEffect(
    () =>
      void startAuth().then(setWho, (failure: unknown) => {
        setError(messageOf(failure));
        setWho(undefined);
      }),
    [],
  );
  useEffect(() => {
    if (who) void probe().then(setCan);
  }, [who]);
  if (who === null) return <p class="muted loading">Signing in…</p>;
  if (!who)
    return (
      <>
        <ErrorNote error={error} />
        <SignIn onToken={setWho} />
      </>
    );
  if (!can) return <p class="muted loading">Loading…</p>;
  return (
    <>
      <Nav route={route} can={can} who={who} />
      <main>
        <Page route={route} can={can} />
      </main>
    </>
  );
}

const root = document.getElementById('app');
if (root) render(<App />, root);
