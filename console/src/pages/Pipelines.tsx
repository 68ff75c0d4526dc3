import { useEffect, useState } from 'preact/hooks';
import { api, type Pipeline, type PipelineDetail, type Version } from '../api';
import { Dag } from '../components/Dag';
import { ErrorBanner, Spinner } from '../components/ui';
import { formatTime, formatValue, parseLabels, parseParameter } from '../format';
import { useTitle } from '../hooks';
import { Link, navigate, useLocation } from '../router';

export function PipelinesPage() {
  useTitle('Pipelines');
  const [items, setItems] = useState<Pipeline[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = async (token: string | null) => {
    try {
      const r = await api.listPipelines(token);
      setItems((cur) => (token && cur ? [...cur, ...r.pipelines] : r.pipelines));
      setNext(r.nextPageToken);
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => void load(null), []);
  return (
    <section aria-labelledby="pipelines-heading">
      <div class="page-head"><h1 id="pipelines-heading">Pipelines</h1></div>
      <ErrorBanner error={error} />
      {items === null && !error && <p><Spinner /> Loading pipelines…</p>}
      {items && items.length === 0 && (
        <p class="empty">
          No pipelines yet. Create one with <code>POST /api/v1/pipelines</code> (see the README's first pipeline).
        </p>
      )}
      {items && items.length > 0 && (
        <div class="table-wrap">
          <table class="responsive">
            <caption class="sr-only">Pipelines by name</caption>
            <thead>
              <tr><th scope="col">Name</th><th scope="col">Description</th><th scope="col">Latest version</th><th scope="col">Updated</th><th scope="col">Runs</th></tr>
            </thead>
            <tbody>
              {items.map((p) => (
                <tr key={p.name} data-pipeline={p.name}>
                  <td data-label="Name"><Link href={`/pipelines/${encodeURIComponent(p.name)}`}>{p.name}</Link></td>
                  <td data-label="Description">{p.description ?? <span class="muted">—</span>}</td>
                  <td data-label="Latest version" class="num">v{p.latestVersion}</td>
                  <td data-label="Updated">{formatTime(p.updatedAt)}</td>
                  <td data-label="Runs"><Link href={`/?pipeline=${encodeURIComponent(p.name)}`}>Runs</Link></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {next && <button type="button" class="btn" onClick={() => void load(next)}>Show more</button>}
    </section>
  );
}

/** A pipeline by name (with its versions and a form to start it), or, with run, the version that run froze wherever
 *  it is kept: a run made through the Vertex or SageMaker face has its pipeline in that face's location. */
export function PipelineDetailPage({ name: byName, run }: { name: string | null; run?: string }) {
  const loc = useLocation();
  const version = Number(loc.query.get('version')) || undefined;
  const [detail, setDetail] = useState<PipelineDetail | null>(null);
  const [versions, setVersions] = useState<Version[]>([]);
  const [error, setError] = useState<unknown>(null);
  const name = byName ?? detail?.name ?? '';
  useTitle(name || 'Pipeline');

  useEffect(() => {
    setError(null);
    (run ? api.runPipeline(run) : api.getPipeline(byName!, version)).then(setDetail, setError);
  }, [byName, run, version]);
  useEffect(() => {
    if (run) return;
    api.listVersions(byName!).then((r) => setVersions(r.versions), () => undefined);
  }, [byName, run]);

  return (
    <section aria-labelledby="pipeline-heading">
      <nav aria-label="Breadcrumb" class="crumbs">
        {run ? (
          <>
            <Link href="/">Runs</Link> <span aria-hidden="true">/</span> <Link href={`/runs/${encodeURIComponent(run)}`}>{run}</Link>{' '}
            <span aria-hidden="true">/</span> <span>pipeline</span>
          </>
        ) : (
          <>
            <Link href="/pipelines">Pipelines</Link> <span aria-hidden="true">/</span> <span>{name}</span>
          </>
        )}
      </nav>
      <div class="page-head">
        <div>
          <h1 id="pipeline-heading">{name}</h1>
          {detail?.description && <p class="muted">{detail.description}</p>}
          {run && detail && (
            <p class="muted">
              Version {detail.version.version}, as run <span class="mono">{run}</span> froze it. It was created through its run's API
              and is started there.
            </p>
          )}
        </div>
        <div class="head-actions">
          {versions.length > 0 && (
            <label class="inline">
              <span>Version</span>
              <select
                value={detail?.version.version ?? ''}
                onChange={(e) => navigate(`/pipelines/${encodeURIComponent(name)}?version=${(e.target as HTMLSelectElement).value}`, { replace: true })}
              >
                {[...versions].reverse().map((v) => (
                  <option key={v.version} value={v.version}>v{v.version} · {formatTime(v.createdAt)}</option>
                ))}
              </select>
            </label>
          )}
          {!run && <Link class="btn" href={`/?pipeline=${encodeURIComponent(name)}`}>Runs of {name}</Link>}
        </div>
      </div>
      <ErrorBanner error={error} />
      {!detail && !error && <p><Spinner /> Loading pipeline…</p>}
      {detail && (
        <>
          <div class="run-grid">
            {!run && (
              <section class="card" aria-labelledby="start-heading">
                <h2 id="start-heading">Start a run</h2>
                <StartRunForm detail={detail} />
              </section>
            )}
            <section class="card" aria-labelledby="pgraph-heading">
              <h2 id="pgraph-heading">Steps</h2>
              <Dag label={`Steps of pipeline ${name}`} steps={detail.steps.map((s) => ({ ...s }))} />
            </section>
          </div>
          <section class="card" aria-labelledby="def-heading">
            <h2 id="def-heading">Definition <span class="muted small">v{detail.version.version} · {detail.version.format}</span></h2>
            <pre class="definition" tabIndex={0} aria-labelledby="def-heading">{detail.version.definition}</pre>
          </section>
        </>
      )}
    </section>
  );
}

function StartRunForm({ detail }: { detail: PipelineDetail }) {
  const [values, setValues] = useState<Record<string, string>>({});
  const [labels, setLabels] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [problems, setProblems] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [pending, setPending] = useState(false);

  useEffect(() => {
    setValues({});
    setProblems({});
    setError(null);
  }, [detail.name, detail.version.version]);

  const submit = async () => {
    const parameters: Record<string, unknown> = {};
    const found: Record<string, string> = {};
    for (const p of detail.parameters) {
      const text = values[p.name] ?? '';
      const r = parseParameter(p.type, p.type === 'Boolean' && text === '' ? '' : text);
      if ('error' in r) found[p.name] = r.error;
      else if (r.value !== undefined) parameters[p.name] = r.value;
      else if (p.default === null || p.default === undefined) found[p.name] = 'is required';
    }
    const l = parseLabels(labels);
    if ('error' in l) found['labels'] = l.error;
    setProblems(found);
    if (Object.keys(found).length > 0) return;
    setPending(true);
    setError(null);
    try {
      const run = await api.startRun({
        pipeline: detail.name, version: detail.version.version, parameters,
        labels: 'labels' in l ? l.labels : undefined, displayName: displayName.trim() || undefined,
      });
      navigate(`/runs/${encodeURIComponent(run.id)}`);
    } catch (e) {
      setError(e);
    } finally {
      setPending(false);
    }
  };

  return (
    <form class="start-form" onSubmit={(e) => { e.preventDefault(); void submit(); }} aria-label={`Start a run of ${detail.name}`}>
      {detail.parameters.length === 0 && <p class="muted">This pipeline has no parameters.</p>}
      {detail.parameters.map((p) => {
        const id = `param-${p.name}`;
        const required = p.default === null || p.default === undefined;
        const err = problems[p.name];
        return (
          <div class="field" key={p.name}>
            <label for={id}>
              {p.name} <span class="muted small">{p.type}{required ? ', required' : ''}</span>
            </label>
            {p.type === 'Boolean' ? (
              <select id={id} value={values[p.name] ?? ''} onChange={(e) => setValues({ ...values, [p.name]: (e.target as HTMLSelectElement).value })}>
                <option value="">default ({formatValue(p.default)})</option>
                <option value="true">true</option>
                <option value="false">false</option>
              </select>
            ) : (
              <input
                id={id}
                type="text"
                inputMode={p.type === 'Integer' ? 'numeric' : p.type === 'Float' ? 'decimal' : undefined}
                placeholder={required ? '' : `default: ${formatValue(p.default)}`}
                value={values[p.name] ?? ''}
                aria-invalid={err ? 'true' : undefined}
                aria-describedby={err ? `${id}-err` : p.description ? `${id}-desc` : undefined}
                onInput={(e) => setValues({ ...values, [p.name]: (e.target as HTMLInputElement).value })}
              />
            )}
            {p.description && <p id={`${id}-desc`} class="muted small">{p.description}</p>}
            {err && <p id={`${id}-err`} class="field-error">{p.name} {err}</p>}
          </div>
        );
      })}
      <div class="field">
        <label for="run-display-name">Display name <span class="muted small">optional</span></label>
        <input id="run-display-name" type="text" maxLength={256} value={displayName} onInput={(e) => setDisplayName((e.target as HTMLInputElement).value)} />
      </div>
      <div class="field">
        <label for="run-labels">Labels <span class="muted small">optional, key=value separated by commas</span></label>
        <input
          id="run-labels"
          type="text"
          value={labels}
          aria-invalid={problems['labels'] ? 'true' : undefined}
          onInput={(e) => setLabels((e.target as HTMLInputElement).value)}
        />
        {problems['labels'] && <p class="field-error">{problems['labels']}</p>}
      </div>
      <ErrorBanner error={error} />
      <button type="submit" class="btn primary" disabled={pending}>Start run</button>
    </form>
  );
}
