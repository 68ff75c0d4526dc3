import { render } from 'preact';
import { useLiveStatus } from './hooks';
import { PipelineDetailPage, PipelinesPage } from './pages/Pipelines';
import { RunDetailsPage } from './pages/RunDetails';
import { RunsPage } from './pages/Runs';
import { Link, match, useLocation } from './router';
import './styles.css';

function App() {
  const loc = useLocation();
  const live = useLiveStatus();
  let page;
  let section: 'runs' | 'pipelines' | null = null;
  let m: Record<string, string> | null;
  if (loc.path === '/' || loc.path === '/runs') {
    page = <RunsPage />;
    section = 'runs';
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
      </header>
      <main id="main" tabIndex={-1}>{page}</main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
