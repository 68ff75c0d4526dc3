// What a run's and a step's state mean for the console: wording per face, which actions are allowed, how live events
// change what is shown. Pure functions, tested in test/state.test.ts.
import type { Run, RunEvent, RunState, Step, StepState } from './api';

export const runStates: RunState[] = ['Queued', 'Running', 'Stopping', 'Stopped', 'Succeeded', 'Failed'];

export const terminalRunStates: ReadonlySet<string> = new Set(['Stopped', 'Succeeded', 'Failed']);
const terminalStepStates: ReadonlySet<string> = new Set(['Stopped', 'Succeeded', 'Failed', 'Skipped', 'NotStarted']);

export function isTerminal(state: string): boolean {
  return terminalRunStates.has(state);
}

export function isStepTerminal(state: string): boolean {
  return terminalStepStates.has(state);
}

/** Stop is offered only while there is something to stop: Queued (nothing started yet) or Running (Vertex seed). */
export function canStop(state: string): boolean {
  return state === 'Queued' || state === 'Running';
}

/** Only a finished run can be deleted; a stopped run is kept until then. */
export function canDelete(state: string): boolean {
  return isTerminal(state);
}

/** Why Stop is not offered, for its description. */
export function stopUnavailableReason(state: string): string | null {
  switch (state) {
    case 'Queued':
    case 'Running':
      return null;
    case 'Stopping':
      return 'A stop is already in progress.';
    default:
      return `The run has finished (${state}).`;
  }
}

/** A run's state in its face's words: Vertex says Canceling / Canceled for Stopping / Stopped. */
export function runStateLabel(state: string, face?: string | null): string {
  if (face === 'vertex') {
    if (state === 'Stopping') return 'Canceling';
    if (state === 'Stopped') return 'Canceled';
  }
  return state === 'NotStarted' ? 'Not started' : state;
}

/** The verb for stopping a run in its face's words (the button itself always says Stop, as in the Vertex console). */
export function stopNoun(face?: string | null): { verb: string; progressive: string; done: string } {
  return face === 'vertex'
    ? { verb: 'cancel', progressive: 'Canceling', done: 'Canceled' }
    : { verb: 'stop', progressive: 'Stopping', done: 'Stopped' };
}

export type Tone = 'neutral' | 'active' | 'stopping' | 'ok' | 'bad' | 'stopped' | 'muted';

/** The colour family of a state (badge, DAG node); the badge also shows a symbol so colour is never the only cue. */
export function stateTone(state: string): Tone {
  switch (state as RunState | StepState) {
    case 'Queued':
    case 'Pending':
      return 'neutral';
    case 'Starting':
    case 'Running':
      return 'active';
    case 'Stopping':
      return 'stopping';
    case 'Succeeded':
      return 'ok';
    case 'Failed':
      return 'bad';
    case 'Stopped':
      return 'stopped';
    case 'Skipped':
    case 'NotStarted':
      return 'muted';
    default:
      return 'neutral';
  }
}

export function stateSymbol(state: string): string {
  switch (stateTone(state)) {
    case 'neutral': return '○';
    case 'active': return '▶';
    case 'stopping': return '◼';
    case 'ok': return '✓';
    case 'bad': return '✕';
    case 'stopped': return '■';
    case 'muted': return '–';
  }
}

/** Applies a run-level event to a run: its new state, and the stop request it records. Step events leave it alone. */
export function applyRunEvent(run: Run, e: RunEvent): Run {
  if (e.runId !== run.id || e.step) return run;
  let next = run;
  // a stop request is itself the run's transition (Running -> Stopping, or Queued -> Stopped)
  if (e.to && (e.kind === 'run-state' || e.kind === 'run-created' || e.kind === 'stop-requested') && !isTerminal(run.state)) {
    next = { ...next, state: e.to as RunState, updatedAt: e.at };
    if (e.to === 'Running' && !next.startedAt) next = { ...next, startedAt: e.at };
    if (isTerminal(e.to) && !next.endedAt) next = { ...next, endedAt: e.at };
  }
  if (e.kind === 'stop-requested' && !next.stop) {
    next = { ...next, stop: { at: e.at, reason: stopReason(e.message), caller: e.caller, graceSeconds: null } };
  }
  return next;
}

/** Applies step events to the run's steps (state, attempt start and end times), many at once (the events of one
 *  batch): one copy of the list, not one per event. */
export function applyStepEvents(steps: Step[], events: RunEvent[]): Step[] {
  let out: Step[] | null = null;
  let at: Map<string, number> | null = null;
  for (const e of events) {
    if (!e.step || e.kind !== 'step-state' || !e.to) continue;
    if (!at) {
      at = new Map();
      for (let i = 0; i < steps.length; i++) at.set(steps[i]!.name, i);
    }
    const i = at.get(e.step);
    if (i === undefined) continue;
    const list: Step[] = out ?? steps;
    const s = list[i]!;
    if (s.state === e.to) continue;
    const to = e.to as StepState;
    const started = to === 'Starting' || (to === 'Running' && !s.startedAt);
    out ??= steps.slice();
    out[i] = {
      ...s,
      state: to,
      startedAt: started ? e.at : s.startedAt,
      endedAt: isStepTerminal(to) ? e.at : started ? null : s.endedAt,
    };
  }
  return out ?? steps;
}

/** The events of one step, oldest first. */
export function stepHistory(events: RunEvent[], step: string): RunEvent[] {
  return events.filter((e) => e.step === step).sort((a, b) => a.seq - b.seq);
}

/** Adds events to a history once each (by sequence number), oldest first. Events that come after the history, in
 *  order (as a live stream sends them), are appended without looking at the history. */
export function mergeEvents(history: RunEvent[], more: RunEvent[]): RunEvent[] {
  if (more.length === 0) return history;
  let last = history.length ? history[history.length - 1]!.seq : -Infinity;
  let ordered = true;
  for (const e of more) {
    if (e.seq <= last) {
      ordered = false;
      break;
    }
    last = e.seq;
  }
  if (ordered) return history.concat(more);
  const seen = new Set(history.map((e) => e.seq));
  const add = more.filter((e) => !seen.has(e.seq) && !!seen.add(e.seq));
  if (add.length === 0) return history;
  return [...history, ...add].sort((a, b) => a.seq - b.seq);
}

/** The reason in a stop-requested event's message ("stop requested: why"), or null when none was given. */
export function stopReason(message: string | null): string | null {
  if (!message) return null;
  const m = /^stop requested:?\s*(.*)$/s.exec(message);
  const why = (m ? m[1]! : message).trim();
  return why || null;
}

/** A sentence for one history entry, in the run's face's words. */
export function describeEvent(e: RunEvent, face?: string | null): string {
  const label = (s: string | null) => (s ? runStateLabel(s, face) : '');
  switch (e.kind) {
    case 'run-created':
      return `Run created${e.message ? ` (${e.message})` : ''}`;
    case 'run-state':
      return `Run ${label(e.from)} → ${label(e.to)}${e.message ? `: ${e.message}` : ''}`;
    case 'stop-requested': {
      const why = stopReason(e.message);
      return `${face === 'vertex' ? 'Cancel' : 'Stop'} requested (${label(e.from)} → ${label(e.to)})${why ? `: ${why}` : ''}`;
    }
    case 'step-state':
      return `Step ${e.step} ${label(e.from)} → ${label(e.to)}${e.message ? `: ${e.message}` : ''}`;
    case 'step-retry':
      return `Step ${e.step} will be retried${e.message ? `: ${e.message}` : ''}`;
    default:
      return `${e.kind}${e.step ? ` ${e.step}` : ''}${e.message ? `: ${e.message}` : ''}`;
  }
}

/** A callback step that a person can answer now: it has a token nobody answered and it is still waiting. */
export function awaitsAnswer(step: Step): boolean {
  return step.kind === 'callback' && !!step.callback && !step.callback.answered
    && (step.state === 'Running' || step.state === 'Stopping');
}

/** Splits a selection into the runs a batch action applies to and the ones it leaves out. */
export function partitionSelection(runs: Run[], selected: ReadonlySet<string>, applies: (state: string) => boolean) {
  const chosen = runs.filter((r) => selected.has(r.id));
  return {
    eligible: chosen.filter((r) => applies(r.state)),
    ineligible: chosen.filter((r) => !applies(r.state)),
  };
}

/** How far a batch stop has come: runs that reached a final state (from the operation or live events) out of all. */
export function batchProgress(runIds: string[], results: Record<string, unknown>, liveStates: Record<string, string>) {
  let finished = 0;
  for (const id of runIds) {
    if (results[id] !== undefined || isTerminal(liveStates[id] ?? '')) finished++;
  }
  return { finished, total: runIds.length };
}
