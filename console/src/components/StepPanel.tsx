import { useEffect, useRef, useState } from 'preact/hooks';
import { api, logUrl, toApiError, type Run, type RunEvent, type Step } from '../api';
import { appendLog, elapsed, formatTime } from '../format';
import { awaitsAnswer, describeEvent, isStepTerminal, stepHistory } from '../state';
import { Dialog, ErrorBanner, KeyValues, StateBadge } from './ui';

interface Props {
  run: Run;
  step: Step;
  events: RunEvent[];
  now: number;
  onChanged: () => void;
  onClose: () => void;
}

export function StepPanel({ run, step, events, now, onChanged, onClose }: Props) {
  const history = stepHistory(events, step.name);
  return (
    <div class="step-panel" data-step-panel={step.name}>
      <div class="panel-head">
        <h2 id="step-heading">
          Step <span class="mono">{step.name}</span>
        </h2>
        <button type="button" class="btn ghost small" onClick={onClose} aria-label={`Close step ${step.name}`}>✕</button>
      </div>
      <p>
        <StateBadge state={step.state} face={run.face} /> <span class="muted">{step.kind} step{step.attempt > 1 ? ` · attempt ${step.attempt}` : ''}</span>
      </p>
      {step.reason && <p class="step-reason">{step.reason}</p>}

      {awaitsAnswer(step) && <CallbackBox run={run} step={step} onChanged={onChanged} />}

      <dl class="summary compact">
        <div><dt>Started</dt><dd>{formatTime(step.startedAt)}</dd></div>
        <div><dt>Ended</dt><dd>{formatTime(step.endedAt)}</dd></div>
        <div><dt>Duration</dt><dd>{elapsed(step.startedAt, step.endedAt, now)}</dd></div>
        {step.retryAt && <div><dt>Next attempt</dt><dd>{formatTime(step.retryAt)}</dd></div>}
        {step.exitCode != null && <div><dt>Exit code</dt><dd>{step.exitCode}</dd></div>}
        {step.pid != null && !isStepTerminal(step.state) && <div><dt>Process</dt><dd>pid {step.pid}</dd></div>}
        {step.dependsOn && step.dependsOn.length > 0 && <div><dt>After</dt><dd>{step.dependsOn.join(', ')}</dd></div>}
      </dl>

      <h3>Inputs</h3>
      <KeyValues values={step.inputs} empty="No inputs yet." caption={`Inputs of ${step.name}`} />
      <h3>Outputs</h3>
      <KeyValues values={step.outputs} empty={isStepTerminal(step.state) ? 'No outputs.' : 'No outputs yet.'} caption={`Outputs of ${step.name}`} />

      <h3>State history</h3>
      {history.length === 0 ? (
        <p class="muted">No changes yet.</p>
      ) : (
        <ol class="history compact">
          {history.map((e) => (
            <li key={e.seq}>
              <time dateTime={e.at}>{formatTime(e.at, { ms: true })}</time> <span>{describeEvent(e, run.face)}</span>
            </li>
          ))}
        </ol>
      )}

      {(step.kind === 'process' || step.kind === 'function') && <LogView run={run} step={step} />}
    </div>
  );
}

function CallbackBox({ run, step, onChanged }: { run: Run; step: Step; onChanged: () => void }) {
  const [dialog, setDialog] = useState<'succeed' | 'fail' | null>(null);
  const declared = Object.entries(step.declaredOutputs ?? {});
  const [outputs, setOutputs] = useState<Record<string, string>>({});
  const [reason, setReason] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [pending, setPending] = useState(false);
  const token = step.callback!.token;

  const answer = async (success: boolean) => {
    setPending(true);
    setError(null);
    try {
      const body = success
        ? { outputs: Object.fromEntries(Object.entries(outputs).filter(([, v]) => v !== '')) }
        : { reason: reason.trim() || undefined };
      await api.answerCallback(token, success, body);
      setDialog(null);
      onChanged();
    } catch (e) {
      setError(e);
    } finally {
      setPending(false);
    }
  };

  return (
    <div class="callback-box" data-callback-token={token}>
      <p>
        {step.state === 'Stopping'
          ? <>The run is stopping: this step ends when its callback is answered (either answer finishes the stop).</>
          : <>This step waits for an answer to its callback.</>}
        {' '}Token <code class="token">{token}</code>
      </p>
      <div class="actions">
        <button type="button" class="btn ok" onClick={() => setDialog('succeed')}>Mark succeeded…</button>
        <button type="button" class="btn danger" onClick={() => setDialog('fail')}>Mark failed…</button>
      </div>
      <ErrorBanner error={!dialog ? error : null} onDismiss={() => setError(null)} />

      <Dialog open={dialog === 'succeed'} title={`Mark step ${step.name} succeeded`} onClose={() => setDialog(null)}>
        <form method="dialog" onSubmit={(e) => { e.preventDefault(); void answer(true); }}>
          {declared.length === 0 ? (
            <p>The step declares no outputs.</p>
          ) : (
            <fieldset>
              <legend>Outputs</legend>
              {declared.map(([name, type]) => (
                <label class="stack" key={name}>
                  <span>{name} <span class="muted">({type})</span></span>
                  <input
                    type="text"
                    name={name}
                    value={outputs[name] ?? ''}
                    onInput={(e) => setOutputs({ ...outputs, [name]: (e.target as HTMLInputElement).value })}
                  />
                </label>
              ))}
            </fieldset>
          )}
          <p class="muted small">Run {run.id}. Values are sent as text and converted to each output's declared type.</p>
          <ErrorBanner error={error} />
          <div class="dialog-actions">
            <button type="button" class="btn ghost" onClick={() => setDialog(null)}>Cancel</button>
            <button type="submit" class="btn ok" disabled={pending}>Mark succeeded</button>
          </div>
        </form>
      </Dialog>
      <Dialog open={dialog === 'fail'} title={`Mark step ${step.name} failed`} onClose={() => setDialog(null)}>
        <form method="dialog" onSubmit={(e) => { e.preventDefault(); void answer(false); }}>
          <label class="stack">
            <span>Reason</span>
            <textarea rows={2} maxLength={1024} value={reason} onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)} />
          </label>
          <ErrorBanner error={error} />
          <div class="dialog-actions">
            <button type="button" class="btn ghost" onClick={() => setDialog(null)}>Cancel</button>
            <button type="submit" class="btn danger" disabled={pending}>Mark failed</button>
          </div>
        </form>
      </Dialog>
    </div>
  );
}

/** A step's stdout or stderr; followed live while the attempt runs (the server streams until it ends). */
function LogView({ run, step }: { run: Run; step: Step }) {
  const [stream, setStream] = useState<'stdout' | 'stderr'>('stdout');
  const [attempt, setAttempt] = useState(step.attempt);
  const [text, setText] = useState('');
  const [truncated, setTruncated] = useState(false);
  const [following, setFollowing] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const pre = useRef<HTMLPreElement>(null);
  const stick = useRef(true);
  const activeRef = useRef(!isStepTerminal(step.state));
  activeRef.current = !isStepTerminal(step.state);

  // follow the newest attempt as retries start
  useEffect(() => setAttempt(step.attempt), [step.attempt]);

  useEffect(() => {
    setText('');
    setTruncated(false);
    setError(null);
    if (attempt < 1) return;
    const ctl = new AbortController();
    const follow = activeRef.current && attempt === step.attempt;
    setFollowing(follow);
    (async () => {
      try {
        const res = await fetch(logUrl(run.id, step.name, stream, attempt, follow), { signal: ctl.signal });
        if (!res.ok) throw toApiError(res.status, res.statusText, await res.text());
        const reader = res.body!.getReader();
        const dec = new TextDecoder();
        let acc = '';
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          const r = appendLog(acc, dec.decode(value, { stream: true }));
          acc = r.text;
          setText(acc);
          if (r.truncated) setTruncated(true);
        }
      } catch (e) {
        if (!ctl.signal.aborted) setError(e);
      } finally {
        if (!ctl.signal.aborted) setFollowing(false);
      }
    })();
    return () => ctl.abort();
  }, [run.id, step.name, stream, attempt]);

  useEffect(() => {
    const el = pre.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [text]);

  return (
    <div class="log">
      <div class="log-head">
        <h3 id={`log-${step.name}`}>Log</h3>
        <div class="segmented" role="group" aria-label="Log stream">
          {(['stdout', 'stderr'] as const).map((s) => (
            <button key={s} type="button" class={`btn small${stream === s ? ' active' : ''}`} aria-pressed={stream === s} onClick={() => setStream(s)}>
              {s}
            </button>
          ))}
        </div>
        {step.attempt > 1 && (
          <label class="inline">
            <span>Attempt</span>
            <select value={attempt} onChange={(e) => setAttempt(Number((e.target as HTMLSelectElement).value))}>
              {Array.from({ length: step.attempt }, (_, i) => i + 1).map((n) => (
                <option key={n} value={n}>{n}</option>
              ))}
            </select>
          </label>
        )}
        {following && <span class="live-tag" role="status">● live</span>}
      </div>
      <ErrorBanner error={error} />
      {attempt < 1 ? (
        <p class="muted">The step has not started.</p>
      ) : (
        <pre
          ref={pre}
          class="log-text"
          tabIndex={0}
          aria-labelledby={`log-${step.name}`}
          data-log={`${step.name}:${stream}`}
          onScroll={(e) => {
            const el = e.currentTarget;
            stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
          }}
        >
          {truncated && <span class="muted">… (earlier output not shown)\n</span>}
          {text || <span class="muted">{following ? 'Waiting for output…' : '(empty)'}</span>}
        </pre>
      )}
    </div>
  );
}
