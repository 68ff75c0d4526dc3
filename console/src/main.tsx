import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, unauthenticatedEvent, type Session } from './api';
import { ErrorBanner } from './components/ui';
import { useLiveStatus } from './hooks';
import { PipelineDetailPage, PipelinesPage } from './pages/Pipelines';
import { RunDetailsPage } from './pages/RunDetails';
import { RunsPage } from './pages/Runs';
import { SignInPage } from './pages/SignIn';
import { Link, match, useLocation } from './router';
import './styles.css';

/** Asks the server who this browser is signed in as; shows the sign-in page until it is. */
function Root() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    const ctl = new AbortController();
    api.getSession(ctl.signal).then(setSession, (e) => {
      if (e instanceof ApiError && e.status === 401) setSession(null);
      else if (!(e instanceof DOMException)) setError(e);
    });
    const signedOut = () => setSession(null);
    window.addEventListener(unauthenticatedEvent, signedOut);
    return () => {
      ctl.abort();
      window.removeEventListener(unauthenticatedEvent, signedOut);
    };
  }, []);
  if (error) return <main id="main"><ErrorBanner error={error} /></main>;
  if (session === undefined) return null;
  if (session === null) return <main id="main"><SignInPage onSignedIn={setSession} /></main>;
  const signOut = async () => {
    try {
      await api.signOut();
    } finally {
      setSession(null);
    }
  };
  return <App session={session} onSignOut={signOut} />;
}

function App({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const loc = useLocation();
  const live = useLiveStatus();
  let page;
  let section: 'runs' | 'pipelines' | null = null;
  let m: Record<string, string> | null;
  if (loc.path === '/' || loc.path === '/runs') {
    page = <RunsPage />;
    section = 'runs';
  } else if ((m = match('/runs/:id/pipeline', loc.path))) {
    page = <PipelineDetailPage name={null} run={m['id']!} key={`run:${m['id']}`} />;
    section = 'pipelines';
  } else if ((m = match('/runs/:id', loc.path))) {
    page = <RunDetailsPage id={m['id']!} key={m['id']} />;
    section = 'runs';
  } else if (loc.path === '/pipelines') {
    page = <PipelinesPage />;
    section = 'pipelines';
  } else if ((m = match('/pipelines/:name', loc.path))) {
    page = <PipelineDetailPage name={m['name']!} key={m['name']} />;
    section = 'pipelines';
  } else {
    page = (
      <section>
        <h1>Not found</h1>
        <p>There is no page at <code>{loc.path}</code>. <Link href="/">Go to Runs</Link>.</p>
      </section>
    );
  }
  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <Link href="/" class="brand" aria-label="Sluice home">
          <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
            <path d="M3 6h18M3 12h18M3 18h18" stroke="currentColor" stroke-width="2.4" stroke-linecap="round" />
          </svg>
          Sluice
        </Link>
        <nav aria-label="Main">
          <Link href="/" aria-current={section === 'runs' ? 'page' : undefined}>Runs</Link>
          <Link href="/pipelines" aria-current={section === 'pipelines' ? 'page' : undefined}>Pipelines</Link>
        </nav>
        {live !== 'idle' && (
          <span class={`live live-${live}`} title="Updates arrive from the server's event stream">
            <span aria-hidden="true">●</span> {live === 'live' ? 'Live' : live === 'connecting' ? 'Connecting' : 'Reconnecting'}
          </span>
        )}
        {!session.devMode && (
          <span class="who" title={`tenant ${session.tenant === '*' ? 'every tenant' : session.tenant}, scope ${session.scope}`}>
            Signed in as <strong>{session.name}</strong>
            <button type="button" class="btn ghost small" onClick={onSignOut}>Sign out</button>
          </span>
        )}
      </header>
      <main id="main" tabIndex={-1}>{page}</main>
    </>
  );
}

render(<Root />, document.getElementById('app')!);
