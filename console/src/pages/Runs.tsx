import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, type Operation, type Pipeline, type Run, type RunEvent, type RunState } from '../api';
import { Dialog, ErrorBanner, LabelChips, Spinner, StateBadge } from '../components/ui';
import { elapsed, formatTime, parseLabels, relativeTime, runTitle } from '../format';
import { useAdaptiveRefresh, useEvents, useNow, useTitle } from '../hooks';
import { Link, navigate, useLocation } from '../router';
import {
  applyRunEvent, batchProgress, canDelete, canStop, isTerminal, partitionSelection, runStateLabel, runStates,
} from '../state';

const pageSize = 50;

/** The state filter's choices: everything, the active ones, or one state. */
const stateChoices: { value: string; label: string; states?: RunState[] }[] = [
  { value: '', label: 'All states' },
  { value: 'active', label: 'Active (Queued, Running, Stopping)', states: ['Queued', 'Running', 'Stopping'] },
  ...runStates.map((s) => ({ value: s, label: s, states: [s] })),
];

interface Batch {
  kind: 'stop' | 'delete';
  ids: string[];
  done: boolean;
  finished: number;
  failures: { id: string; message: string }[];
  /** How many runs ended in each state (a run may end Failed, e.g. a function step that timed out while stopping). */
  outcomes?: Record<string, number>;
  op?: Operation;
}

export function RunsPage() {
  useTitle('Runs');
  const loc = useLocation();
  const pipeline = loc.query.get('pipeline') ?? '';
  const stateFilter = loc.query.get('state') ?? '';
  const labelFilter = loc.query.get('label') ?? '';
  const filterKey = `${pipeline}|${stateFilter}|${labelFilter}`;

  const [pipelines, setPipelines] = useState<Pipeline[]>([]);
  const [rows, setRows] = useState<Run[] | null>(null);
  const [tokens, setTokens] = useState<(string | null)[]>([null]);
  const [page, setPage] = useState(0);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [confirm, setConfirm] = useState<'stop' | 'delete' | null>(null);
  const [reason, setReason] = useState('');
  const [batch, setBatch] = useState<Batch | null>(null);
  const [labelText, setLabelText] = useState(labelFilter);
  const [labelError, setLabelError] = useState<string | null>(null);
  const liveStates = useRef<Record<string, string>>({});
  const now = useNow(1000);

  const labels = useMemo(() => {
    const p = parseLabels(labelFilter);
    return 'labels' in p ? p.labels : {};
  }, [labelFilter]);
  const states = stateChoices.find((c) => c.value === stateFilter)?.states;

  const token = tokens[page] ?? null;
  const seq = useRef(0);
  const load = async () => {
    const mine = ++seq.current;
    setLoading(true);
    try {
      const r = await api.listRuns({ pipeline: pipeline || undefined, states, labels, pageSize, pageToken: token });
      if (mine !== seq.current) return;
      setRows(r.runs);
      setNext(r.nextPageToken);
      setError(null);
    } catch (e) {
      if (mine === seq.current) setError(e);
    } finally {
      if (mine === seq.current) setLoading(false);
    }
  };
  const reload = useAdaptiveRefresh(load, 300);

  useEffect(() => {
    setTokens([null]);
    setPage(0);
    setSelected(new Set());
    setLabelText(labelFilter);
  }, [filterKey]);
  useEffect(() => void load(), [filterKey, page, tokens]);
  useEffect(() => {
    api.listPipelines().then((r) => setPipelines(r.pipelines), () => undefined);
  }, []);

  useEvents({}, (e: RunEvent) => {
    if (e.step) return;
    if (e.to) liveStates.current[e.runId] = e.to;
    let visible = false;
    setRows((rs) => rs && rs.map((r) => {
      if (r.id !== e.runId) return r;
      visible = true;
      return applyRunEvent(r, e);
    }));
    // a new run belongs on the first page; a changed one may leave or enter the filter
    if (visible || (e.kind === 'run-created' && page === 0) || stateFilter) reload();
  });

  const setQuery = (changes: Record<string, string>) => {
    const q = new URLSearchParams(loc.query);
    for (const [k, v] of Object.entries(changes)) {
      if (v) q.set(k, v);
      else q.delete(k);
    }
    const s = q.toString();
    navigate(s ? `/?${s}` : '/', { replace: true });
  };

  const visibleRows = rows ?? [];
  const stop = partitionSelection(visibleRows, selected, canStop);
  const del = partitionSelection(visibleRows, selected, canDelete);
  const allSelected = visibleRows.length > 0 && visibleRows.every((r) => selected.has(r.id));
  const busy = !!batch && !batch.done;

  const toggle = (id: string) => {
    const s = new Set(selected);
    if (s.has(id)) s.delete(id);
    else s.add(id);
    setSelected(s);
  };

  const runBatchStop = async () => {
    const ids = stop.eligible.map((r) => r.id);
    setConfirm(null);
    setBatch({ kind: 'stop', ids, done: false, finished: 0, failures: [] });
    try {
      let op = await api.stopRuns(ids, reason.trim() || undefined);
      setBatch((b) => b && { ...b, op });
      while (!op.done) {
        await new Promise((r) => window.setTimeout(r, 400));
        op = await api.getOperation(op.id);
        const p = batchProgress(ids, op.results, liveStates.current);
        setBatch((b) => b && { ...b, op, finished: p.finished });
      }
      const failures = Object.entries(op.results)
        .filter(([, v]) => v.error)
        .map(([id, v]) => ({ id, message: v.error!.message }));
      const outcomes: Record<string, number> = {};
      for (const v of Object.values(op.results)) if (v.state) outcomes[v.state] = (outcomes[v.state] ?? 0) + 1;
      setBatch((b) => b && { ...b, op, done: true, finished: ids.length, failures, outcomes });
    } catch (e) {
      setBatch((b) => b && { ...b, done: true, failures: [{ id: '', message: e instanceof Error ? e.message : String(e) }] });
    }
    setReason('');
    reload();
  };

  const runBatchDelete = async () => {
    const ids = del.eligible.map((r) => r.id);
    setConfirm(null);
    setBatch({ kind: 'delete', ids, done: false, finished: 0, failures: [] });
    const failures: { id: string; message: string }[] = [];
    let finished = 0;
    const queue = [...ids];
    const worker = async () => {
      for (let id = queue.shift(); id; id = queue.shift()) {
        try {
          await api.deleteRun(id);
        } catch (e) {
          failures.push({ id, message: e instanceof Error ? e.message : String(e) });
        }
        finished++;
        setBatch((b) => b && { ...b, finished });
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    setBatch((b) => b && { ...b, done: true, finished, failures });
    setSelected(new Set());
    void load();
  };

  return (
    <section aria-labelledby="runs-heading">
      <div class="page-head">
        <h1 id="runs-heading">Runs</h1>
        {loading && rows && <Spinner label="Refreshing runs" />}
      </div>

      <form
        class="filters"
        aria-label="Filter runs"
        onSubmit={(e) => {
          e.preventDefault();
          const p = parseLabels(labelText);
          if ('error' in p) {
            setLabelError(p.error);
            return;
          }
          setLabelError(null);
          setQuery({ label: labelText.trim() });
        }}
      >
        <label>
          <span>Pipeline</span>
          <select value={pipeline} onChange={(e) => setQuery({ pipeline: (e.target as HTMLSelectElement).value })}>
            <option value="">All pipelines</option>
            {pipeline && !pipelines.some((p) => p.name === pipeline) && <option value={pipeline}>{pipeline}</option>}
            {pipelines.map((p) => (
              <option key={p.name} value={p.name}>{p.name}</option>
            ))}
          </select>
        </label>
        <label>
          <span>State</span>
          <select value={stateFilter} onChange={(e) => setQuery({ state: (e.target as HTMLSelectElement).value })}>
            {stateChoices.map((c) => (
              <option key={c.value} value={c.value}>{c.label}</option>
            ))}
          </select>
        </label>
        <label class="grow">
          <span>Labels</span>
          <input
            type="text"
            value={labelText}
            placeholder="team=red, stage=prod"
            aria-invalid={labelError ? 'true' : undefined}
            aria-describedby={labelError ? 'label-error' : undefined}
            onInput={(e) => setLabelText((e.target as HTMLInputElement).value)}
          />
        </label>
        <button type="submit" class="btn">Apply</button>
        {(pipeline || stateFilter || labelFilter) && (
          <button type="button" class="btn ghost" onClick={() => navigate('/', { replace: true })}>
            Clear filters
          </button>
        )}
        {labelError && <p id="label-error" class="field-error" role="alert">{labelError}</p>}
      </form>

      <div class="toolbar" role="toolbar" aria-label="Selected runs">
        <span class="muted" aria-live="polite">
          {selected.size > 0 ? `${selected.size} selected` : 'Select runs to stop or delete several at once.'}
        </span>
        <button type="button" class="btn danger" disabled={busy || stop.eligible.length === 0} onClick={() => setConfirm('stop')}>
          Stop selected{stop.eligible.length ? ` (${stop.eligible.length})` : ''}
        </button>
        <button type="button" class="btn" disabled={busy || del.eligible.length === 0} onClick={() => setConfirm('delete')}>
          Delete selected{del.eligible.length ? ` (${del.eligible.length})` : ''}
        </button>
        {selected.size > 0 && (
          <button type="button" class="btn ghost" onClick={() => setSelected(new Set())}>Clear selection</button>
        )}
      </div>

      {batch && <BatchStatus batch={batch} onDismiss={() => setBatch(null)} />}
      <ErrorBanner error={error} />

      {rows === null && !error && <p><Spinner /> Loading runs…</p>}
      {rows && rows.length === 0 && (
        <p class="empty">
          {pipeline || stateFilter || labelFilter
            ? 'No runs match these filters.'
            : <>No runs yet. Start one from <Link href="/pipelines">Pipelines</Link>.</>}
        </p>
      )}
      {rows && rows.length > 0 && (
        <div class="table-wrap">
          <table class="runs responsive">
            <caption class="sr-only">Runs, newest first{page > 0 ? `, page ${page + 1}` : ''}</caption>
            <thead>
              <tr>
                <th scope="col" class="check">
                  <input
                    type="checkbox"
                    aria-label="Select all runs on this page"
                    checked={allSelected}
                    onChange={() => setSelected(allSelected ? new Set() : new Set(visibleRows.map((r) => r.id)))}
                  />
                </th>
                <th scope="col">Run</th>
                <th scope="col">State</th>
                <th scope="col">Pipeline</th>
                <th scope="col">Started</th>
                <th scope="col">Duration</th>
                <th scope="col">Labels</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.id} data-run={r.id} class={selected.has(r.id) ? 'selected' : ''}>
                  <td class="check">
                    <input
                      type="checkbox"
                      aria-label={`Select run ${runTitle(r)}`}
                      checked={selected.has(r.id)}
                      onChange={() => toggle(r.id)}
                    />
                  </td>
                  <td data-label="Run">
                    <Link href={`/runs/${encodeURIComponent(r.id)}`} class="run-link">{runTitle(r)}</Link>
                    {r.displayName && <div class="muted mono small">{r.id}</div>}
                  </td>
                  <td data-label="State"><StateBadge state={r.state} face={r.face} /></td>
                  <td data-label="Pipeline">
                    {r.pipeline} <span class="muted">v{r.pipelineVersion}</span>
                  </td>
                  <td data-label="Started">
                    <time dateTime={r.startedAt ?? r.createdAt} title={relativeTime(r.startedAt ?? r.createdAt, now)}>
                      {formatTime(r.startedAt ?? r.createdAt)}
                    </time>
                    {!r.startedAt && <div class="muted small">created, not started</div>}
                  </td>
                  <td data-label="Duration" class="num">{elapsed(r.startedAt, r.endedAt ?? (isTerminal(r.state) ? r.updatedAt : null), now)}</td>
                  <td data-label="Labels"><LabelChips labels={r.labels} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      {rows && (page > 0 || next) && (
        <nav class="pager" aria-label="Pages of runs">
          <button type="button" class="btn" disabled={page === 0} onClick={() => { setSelected(new Set()); setPage(page - 1); }}>
            ← Newer
          </button>
          <span>Page {page + 1}</span>
          <button
            type="button"
            class="btn"
            disabled={!next}
            onClick={() => {
              setSelected(new Set());
              setTokens([...tokens.slice(0, page + 1), next]);
              setPage(page + 1);
            }}
          >
            Older →
          </button>
        </nav>
      )}

      <Dialog open={confirm === 'stop'} title={`Stop ${plural(stop.eligible.length, 'run')}?`} onClose={() => setConfirm(null)}>
        <form method="dialog" onSubmit={(e) => { e.preventDefault(); void runBatchStop(); }}>
          <p>
            Each run's steps are stopped (processes get SIGTERM, then SIGKILL after their grace period); steps that have not
            started never start. The runs are kept and can be deleted afterwards.
          </p>
          <NameList runs={stop.eligible} />
          {stop.ineligible.length > 0 && (
            <p class="muted">{plural(stop.ineligible.length, 'selected run')} not queued or running {stop.ineligible.length === 1 ? 'is' : 'are'} left alone.</p>
          )}
          <label class="stack">
            <span>Reason (optional)</span>
            <textarea rows={2} maxLength={1024} value={reason} onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)} />
          </label>
          <div class="dialog-actions">
            <button type="button" class="btn ghost" onClick={() => setConfirm(null)}>Cancel</button>
            <button type="submit" class="btn danger">Stop {plural(stop.eligible.length, 'run')}</button>
          </div>
        </form>
      </Dialog>

      <Dialog open={confirm === 'delete'} title={`Delete ${plural(del.eligible.length, 'run')}?`} onClose={() => setConfirm(null)}>
        <form method="dialog" onSubmit={(e) => { e.preventDefault(); void runBatchDelete(); }}>
          <p>This removes each run with its steps, history and logs. It cannot be undone.</p>
          <NameList runs={del.eligible} />
          {del.ineligible.length > 0 && (
            <p class="muted">{plural(del.ineligible.length, 'selected run')} still active {del.ineligible.length === 1 ? 'is' : 'are'} not deleted (stop {del.ineligible.length === 1 ? 'it' : 'them'} first).</p>
          )}
          <div class="dialog-actions">
            <button type="button" class="btn ghost" onClick={() => setConfirm(null)}>Cancel</button>
            <button type="submit" class="btn danger">Delete {plural(del.eligible.length, 'run')}</button>
          </div>
        </form>
      </Dialog>
    </section>
  );
}

function NameList({ runs }: { runs: Run[] }) {
  const shown = runs.slice(0, 8);
  return (
    <ul class="name-list">
      {shown.map((r) => (
        <li key={r.id}>
          {runTitle(r)} <span class="muted">({runStateLabel(r.state, r.face)})</span>
        </li>
      ))}
      {runs.length > shown.length && <li class="muted">and {runs.length - shown.length} more</li>}
    </ul>
  );
}

function BatchStatus({ batch, onDismiss }: { batch: Batch; onDismiss: () => void }) {
  const total = batch.ids.length;
  const verb = batch.kind === 'stop' ? 'Stopping' : 'Deleting';
  const pct = total === 0 ? 100 : Math.round((batch.finished / total) * 100);
  const okCount = total - batch.failures.length;
  return (
    <div class={`batch-status${batch.done ? ' done' : ''}`} role="status" aria-live="polite" data-batch={batch.kind}>
      {!batch.done ? (
        <>
          <span>
            {verb} {plural(total, 'run')}… {batch.finished} of {total} finished
          </span>
          <progress max={total} value={batch.finished} aria-label={`${verb} runs`}>{pct}%</progress>
        </>
      ) : (
        <>
          <span>{batchSummary(batch, okCount)}</span>
          {batch.failures.length > 0 && (
            <ul>
              {batch.failures.map((f) => (
                <li key={f.id}>{f.id ? `${f.id}: ` : ''}{f.message}</li>
              ))}
            </ul>
          )}
          <button type="button" class="btn ghost small" onClick={onDismiss}>Dismiss</button>
        </>
      )}
    </div>
  );
}

function batchSummary(batch: Batch, okCount: number): string {
  const failed = batch.failures.length > 0 ? `; ${batch.failures.length} could not be ${batch.kind === 'stop' ? 'stopped' : 'deleted'}` : '';
  if (batch.kind === 'delete') return `Deleted ${plural(okCount, 'run')}${failed}.`;
  const states = Object.entries(batch.outcomes ?? {});
  if (states.length === 0 || (states.length === 1 && states[0]![0] === 'Stopped')) return `Stopped ${plural(okCount, 'run')}${failed}.`;
  return `${plural(okCount, 'run')} finished: ${states.map(([s, n]) => `${n} ${s}`).join(', ')}${failed}.`;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
