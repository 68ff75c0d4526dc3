import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, api, type Run, type RunEvent } from '../api';
import { Dag } from '../components/Dag';
import { StepList } from '../components/StepList';
import { StepPanel } from '../components/StepPanel';
import { Dialog, ErrorBanner, KeyValues, LabelChips, Spinner, StateBadge } from '../components/ui';
import { elapsed, formatTime, relativeTime, runTitle } from '../format';
import { collapseAbove, collapseRun, nodeNameOf, wideLoops, type RunDagNode } from '../dag';
import { useAdaptiveRefresh, useBatched, useEvents, useNow, useTitle } from '../hooks';
import { Link, navigate, useLocation } from '../router';
import {
  applyRunEvent, applyStepEvents, canDelete, canStop, describeEvent, isTerminal, mergeEvents, runStateLabel, stopNoun,
  stopUnavailableReason,
} from '../state';

export function RunDetailsPage({ id }: { id: string }) {
  const loc = useLocation();
  const selected = loc.query.get('step');
  const [run, setRun] = useState<Run | null>(null);
  const [events, setEvents] = useState<RunEvent[]>([]);
  const [after, setAfter] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [dialog, setDialog] = useState<'stop' | 'delete' | null>(null);
  const [reason, setReason] = useState('');
  const [pending, setPending] = useState(false);
  const [allHistory, setAllHistory] = useState(false);
  const now = useNow(1000, !!run && !isTerminal(run.state));
  useTitle(run ? runTitle(run) : id);

  const refetch = async () => {
    try {
      const r = await api.getRun(id);
      setRun(r);
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404 && run)) setError(e);
    }
  };
  // The events keep states current; the refetch brings what they do not carry (outputs, exit codes, new steps). It
  // waits longer the longer the last one took: a run of 10,000 steps is megabytes.
  const refresh = useAdaptiveRefresh(refetch, 150);

  useEffect(() => {
    let live = true;
    setRun(null);
    setEvents([]);
    setAfter(null);
    setError(null);
    setAllHistory(false);
    (async () => {
      try {
        // History first, then the run: the stream resumes after the last event read, so nothing is missed in between.
        const h = await api.runEvents(id);
        const r = await api.getRun(id);
        if (!live) return;
        setEvents(h.events);
        setRun(r);
        setAfter(h.events.length ? h.events[h.events.length - 1]!.seq : 0);
      } catch (e) {
        if (live) setError(e);
      }
    })();
    return () => {
      live = false;
    };
  }, [id]);

  // Events are applied in batches (one render per batch): a wide run sends thousands a second.
  const push = useBatched<RunEvent>((batch) => {
    const mine = batch.filter((e) => e.runId === id);
    if (mine.length === 0) return;
    setEvents((h) => mergeEvents(h, mine));
    setRun((r) => r && { ...mine.reduce(applyRunEvent, r), steps: r.steps && applyStepEvents(r.steps, mine) });
    refresh();
  }, 50);
  useEvents({ runId: id, after: after ?? undefined, enabled: after !== null }, push);

  const steps = run?.steps ?? [];
  // Step names only grow (iterations are made when their for-each starts), so the count says when to look again.
  const wide = useMemo(() => wideLoops(steps.map((s) => s.name)), [id, steps.length]);
  const nodes: RunDagNode[] = useMemo(
    () => collapseRun(steps.map((s) => ({ name: s.name, kind: s.kind, state: s.state, dependsOn: s.dependsOn ?? [], guard: s.guard, group: s.group })), wide),
    [steps, wide],
  );

  const stateRef = useRef<HTMLSpanElement>(null);

  if (error) {
    return (
      <section>
        <p><Link href="/">← Runs</Link></p>
        <h1>Run {id}</h1>
        <ErrorBanner error={error} />
      </section>
    );
  }
  if (!run) return <p><Spinner /> Loading run…</p>;

  const words = stopNoun(run.face);
  const stoppable = canStop(run.state);
  const whyNotStop = stopUnavailableReason(run.state);
  const selectStep = (name: string | null) => {
    const q = new URLSearchParams(loc.query);
    if (name && name !== selected) q.set('step', name);
    else q.delete('step');
    const s = q.toString();
    navigate(`/runs/${encodeURIComponent(id)}${s ? `?${s}` : ''}`, { replace: true });
  };
  const step = steps.find((s) => s.name === selected) ?? null;
  const selectedNode = selected ? nodeNameOf(selected, wide) : null;
  const collapsed = selectedNode && selectedNode.includes('[*]') ? nodes.find((n) => n.name === selectedNode) ?? null : null;
  const historyShown = allHistory || events.length <= historyTail ? events : events.slice(events.length - historyTail);

  const doStop = async () => {
    setPending(true);
    setActionError(null);
    try {
      const answer = await api.stopRun(run.id, reason.trim() || undefined);
      setRun((r) => r && { ...r, ...answer, steps: r.steps });
      setDialog(null);
      setReason('');
      refresh();
    } catch (e) {
      setActionError(e);
      setDialog(null);
    } finally {
      setPending(false);
    }
  };
  const doDelete = async () => {
    setPending(true);
    setActionError(null);
    try {
      await api.deleteRun(run.id);
      navigate('/');
    } catch (e) {
      setActionError(e);
      setDialog(null);
    } finally {
      setPending(false);
    }
  };

  return (
    <section aria-labelledby="run-heading" class="run-details">
      <nav aria-label="Breadcrumb" class="crumbs">
        <Link href="/">Runs</Link> <span aria-hidden="true">/</span> <span>{runTitle(run)}</span>
      </nav>
      <div class="page-head">
        <div>
          <h1 id="run-heading">{runTitle(run)}</h1>
          <p class="muted">
            <span class="mono">{run.id}</span> · pipeline{' '}
            <Link
              href={run.face === 'native'
                ? `/pipelines/${encodeURIComponent(run.pipeline)}?version=${run.pipelineVersion}`
                : `/runs/${encodeURIComponent(run.id)}/pipeline`}
            >
              {run.pipeline} v{run.pipelineVersion}
            </Link>
            {run.face !== 'native' && <> · created through the {faceName(run.face)} API</>}
          </p>
        </div>
        <div class="head-actions">
          <span ref={stateRef} class="run-state" aria-live="polite" aria-atomic="true">
            <span class="sr-only">Run state: </span>
            <StateBadge state={run.state} face={run.face} id="run-state" />
          </span>
          <button
            type="button"
            class="btn danger"
            disabled={!stoppable || pending}
            aria-describedby={whyNotStop ? 'stop-why' : undefined}
            onClick={() => setDialog('stop')}
          >
            Stop
          </button>
          <button
            type="button"
            class="btn"
            disabled={!canDelete(run.state) || pending}
            aria-describedby={!canDelete(run.state) ? 'delete-why' : undefined}
            onClick={() => setDialog('delete')}
          >
            Delete
          </button>
        </div>
      </div>
      {whyNotStop && <p id="stop-why" class="sr-only">Stop is not available: {whyNotStop}</p>}
      {!canDelete(run.state) && <p id="delete-why" class="sr-only">Delete is available once the run has finished.</p>}
      <ErrorBanner error={actionError} onDismiss={() => setActionError(null)} />

      {run.state === 'Stopping' && (
        <p class="notice" role="status">
          {words.progressive}: the run's remaining work is being {words.verb === 'cancel' ? 'cancelled' : 'stopped'}. It
          becomes {words.done} once nothing it started is still running.
        </p>
      )}
      {run.stop && (
        <p class="stop-info" data-testid="stop-info">
          {words.verb === 'cancel' ? 'Cancel' : 'Stop'} requested by <strong>{run.stop.caller ?? 'unknown'}</strong> at{' '}
          <time dateTime={run.stop.at}>{formatTime(run.stop.at)}</time>
          {run.stop.reason ? <>: “{run.stop.reason}”</> : ' (no reason given)'}
          {run.stop.graceSeconds != null && <> · grace {run.stop.graceSeconds} s</>}
        </p>
      )}
      {run.error && <p class="run-error"><strong>Failed:</strong> {run.error}</p>}

      <dl class="summary">
        <div><dt>Created</dt><dd><time dateTime={run.createdAt} title={relativeTime(run.createdAt, now)}>{formatTime(run.createdAt)}</time></dd></div>
        <div><dt>Started</dt><dd>{formatTime(run.startedAt)}</dd></div>
        <div><dt>Ended</dt><dd>{formatTime(run.endedAt)}</dd></div>
        <div><dt>Duration</dt><dd>{elapsed(run.startedAt, run.endedAt, now)}</dd></div>
        <div><dt>Location</dt><dd>{run.location}</dd></div>
        <div><dt>Labels</dt><dd><LabelChips labels={run.labels} /></dd></div>
      </dl>

      <div class="run-grid">
        <section aria-labelledby="graph-heading" class="card graph-card">
          <h2 id="graph-heading">Graph</h2>
          {wide.size > 0 && (
            <p class="muted small">
              For-each groups of more than {collapseAbove} iterations are drawn as one node per step of their body (<span class="mono">[*]</span>);
              select one to list its iterations.
            </p>
          )}
          <Dag
            label={`Steps of run ${runTitle(run)}`}
            steps={nodes}
            selected={selectedNode}
            onSelect={(n) => selectStep(n)}
          />
          <StepList steps={steps} face={run.face} now={now} selected={selected} wide={wide} onSelect={(n) => selectStep(n)} />
        </section>

        <section aria-labelledby="step-heading" class="card step-card">
          {step ? (
            <StepPanel run={run} step={step} events={events} now={now} onChanged={refresh} onClose={() => selectStep(null)} />
          ) : collapsed ? (
            <CollapsedSummary node={collapsed} face={run.face} onClose={() => selectStep(null)} />
          ) : (
            <>
              <h2 id="step-heading">Step</h2>
              <p class="muted">Select a step in the graph or the list to see its state history, inputs, outputs, timing and log.</p>
            </>
          )}
        </section>
      </div>

      <div class="run-grid">
        <section aria-labelledby="params-heading" class="card">
          <h2 id="params-heading">Parameters</h2>
          <KeyValues values={run.parameters} empty="No parameters." caption="Parameters" />
        </section>
        <section aria-labelledby="history-heading" class="card">
          <h2 id="history-heading">History</h2>
          {historyShown.length < events.length && (
            <p class="muted small">
              The last {historyShown.length.toLocaleString('en-US')} of {events.length.toLocaleString('en-US')} events.{' '}
              <button type="button" class="btn ghost small" onClick={() => setAllHistory(true)}>Show all</button>
            </p>
          )}
          <ol class="history" aria-label="Run history, oldest first">
            {historyShown.map((e) => (
              <li key={e.seq} data-kind={e.kind}>
                <time dateTime={e.at}>{formatTime(e.at, { ms: true })}</time>
                <span>{describeEvent(e, run.face)}</span>
                {e.caller && <span class="muted small">by {e.caller}</span>}
              </li>
            ))}
          </ol>
        </section>
      </div>

      <Dialog open={dialog === 'stop'} title={`Stop run ${runTitle(run)}?`} onClose={() => setDialog(null)}>
        <form method="dialog" onSubmit={(e) => { e.preventDefault(); void doStop(); }}>
          <p>
            The run becomes {words.progressive} at once. Its running steps are stopped (processes get SIGTERM, then SIGKILL
            after their grace period; a callback step waits for its answer; a function step for its return), steps not
            started never start, and the run becomes {words.done} when nothing of it is left. It is kept until you
            delete it.
          </p>
          <label class="stack">
            <span>Reason (optional)</span>
            <textarea rows={2} maxLength={1024} value={reason} onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)} />
          </label>
          <div class="dialog-actions">
            <button type="button" class="btn ghost" onClick={() => setDialog(null)}>Cancel</button>
            <button type="submit" class="btn danger" disabled={pending}>Stop run</button>
          </div>
        </form>
      </Dialog>
      <Dialog open={dialog === 'delete'} title={`Delete run ${runTitle(run)}?`} onClose={() => setDialog(null)}>
        <form method="dialog" onSubmit={(e) => { e.preventDefault(); void doDelete(); }}>
          <p>This removes the run ({runStateLabel(run.state, run.face)}) with its steps, history and logs. It cannot be undone.</p>
          <div class="dialog-actions">
            <button type="button" class="btn ghost" onClick={() => setDialog(null)}>Cancel</button>
            <button type="submit" class="btn danger" disabled={pending}>Delete run</button>
          </div>
        </form>
      </Dialog>
    </section>
  );
}

/** How many of the newest events the history shows until asked for all. */
const historyTail = 300;

/** The step card for a collapsed node: how many iterations are in each state. */
function CollapsedSummary({ node, face, onClose }: { node: RunDagNode; face: string; onClose: () => void }) {
  const counts = Object.entries(node.states ?? {}).sort((a, b) => b[1] - a[1]);
  return (
    <>
      <div class="panel-head">
        <h2 id="step-heading" class="mono">{node.name}</h2>
        <button type="button" class="btn ghost small" onClick={onClose} aria-label={`Close ${node.name}`}>✕</button>
      </div>
      <p>
        {node.count.toLocaleString('en-US')} {node.kind} steps, one per iteration: <span class="sr-only">{runStateLabel(node.state, face)}</span>
      </p>
      <ul class="state-counts" data-testid="node-counts">
        {counts.map(([st, c]) => (
          <li key={st} data-state={st}><StateBadge state={st} face={face} /> {c.toLocaleString('en-US')}</li>
        ))}
      </ul>
      <p class="muted small">The list shows these iterations; select one to see its history, inputs, outputs and log.</p>
    </>
  );
}

function faceName(face: string): string {
  return face === 'vertex' ? 'Vertex AI' : face === 'sagemaker' ? 'SageMaker' : face;
}
