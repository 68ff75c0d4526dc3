import { describe, expect, test } from 'vitest';
import type { Run, RunEvent, Step } from '../src/api';
import {
  applyRunEvent, applyStepEvents, awaitsAnswer, batchProgress, canDelete, canStop, describeEvent, isTerminal, mergeEvents,
  partitionSelection, runStateLabel, runStates, stateSymbol, stateTone, stepHistory, stopReason, stopUnavailableReason,
} from '../src/state';

const run = (over: Partial<Run> = {}): Run => ({
  id: 'r1', pipeline: 'p', pipelineVersion: 1, state: 'Running', displayName: null, createdAt: '2026-01-01T00:00:00.000Z',
  startedAt: '2026-01-01T00:00:01.000Z', endedAt: null, updatedAt: '2026-01-01T00:00:01.000Z', parameters: {}, labels: {},
  error: null, stop: null, face: 'native', location: 'local', ...over,
});
const ev = (over: Partial<RunEvent>): RunEvent => ({
  seq: 1, runId: 'r1', step: null, kind: 'run-state', from: null, to: null, at: '2026-01-01T00:00:05.000Z', message: null,
  caller: null, data: null, ...over,
});
const step = (over: Partial<Step> = {}): Step => ({
  name: 's', kind: 'process', state: 'Pending', attempt: 0, startedAt: null, endedAt: null, retryAt: null, reason: null,
  exitCode: null, inputs: null, outputs: null, pid: null, ...over,
});

describe('which actions a state allows', () => {
  test.each([
    ['Queued', true, false],
    ['Running', true, false],
    ['Stopping', false, false],
    ['Stopped', false, true],
    ['Succeeded', false, true],
    ['Failed', false, true],
  ])('%s: stop %s, delete %s', (state, stop, del) => {
    expect(canStop(state)).toBe(stop);
    expect(canDelete(state)).toBe(del);
    expect(isTerminal(state)).toBe(del);
    expect(stopUnavailableReason(state) === null).toBe(stop);
  });

  test('every run state is covered', () => {
    expect(runStates).toEqual(['Queued', 'Running', 'Stopping', 'Stopped', 'Succeeded', 'Failed']);
  });
});

describe('wording per face', () => {
  test('Vertex runs say Canceling and Canceled', () => {
    expect(runStateLabel('Stopping', 'vertex')).toBe('Canceling');
    expect(runStateLabel('Stopped', 'vertex')).toBe('Canceled');
    expect(runStateLabel('Running', 'vertex')).toBe('Running');
  });

  test('native and SageMaker runs say Stopping and Stopped', () => {
    for (const face of ['native', 'sagemaker', undefined]) {
      expect(runStateLabel('Stopping', face)).toBe('Stopping');
      expect(runStateLabel('Stopped', face)).toBe('Stopped');
    }
  });

  test('history entries use the face words', () => {
    const e = ev({ kind: 'run-state', from: 'Stopping', to: 'Stopped', message: 'stopped' });
    expect(describeEvent(e, 'vertex')).toBe('Run Canceling → Canceled: stopped');
    expect(describeEvent(e, 'native')).toBe('Run Stopping → Stopped: stopped');
    const s = ev({ kind: 'stop-requested', from: 'Running', to: 'Stopping', message: 'stop requested: no longer needed' });
    expect(describeEvent(s, 'vertex')).toBe('Cancel requested (Running → Canceling): no longer needed');
    expect(describeEvent(s, 'native')).toBe('Stop requested (Running → Stopping): no longer needed');
  });

  test('a stop reason is read from the event message', () => {
    expect(stopReason('stop requested: bad data')).toBe('bad data');
    expect(stopReason('stop requested')).toBeNull();
    expect(stopReason(null)).toBeNull();
  });
});

describe('tones and symbols', () => {
  test('each state has a distinct symbol family, so colour is never the only cue', () => {
    expect(stateTone('Running')).toBe('active');
    expect(stateTone('Stopping')).toBe('stopping');
    expect(stateTone('Failed')).toBe('bad');
    expect(stateTone('NotStarted')).toBe('muted');
    const symbols = new Set(['Queued', 'Running', 'Stopping', 'Stopped', 'Succeeded', 'Failed', 'Skipped'].map(stateSymbol));
    expect(symbols.size).toBe(7);
  });
});

describe('live events', () => {
  test('a run-state event moves the run and stamps its end', () => {
    const r = applyRunEvent(run(), ev({ from: 'Stopping', to: 'Stopped' }));
    expect(r.state).toBe('Stopped');
    expect(r.endedAt).toBe('2026-01-01T00:00:05.000Z');
  });

  test('a stop-requested event is the transition and records who asked and why', () => {
    const r = applyRunEvent(run(), ev({ kind: 'stop-requested', from: 'Running', to: 'Stopping', message: 'stop requested: why', caller: 'ana' }));
    expect(r.state).toBe('Stopping');
    expect(r.stop).toMatchObject({ reason: 'why', caller: 'ana' });
  });

  test('a final state is never left, even for a late event', () => {
    const r = applyRunEvent(run({ state: 'Stopped' }), ev({ from: 'Queued', to: 'Running' }));
    expect(r.state).toBe('Stopped');
  });

  test("another run's or a step's event changes nothing", () => {
    const r = run();
    expect(applyRunEvent(r, ev({ runId: 'other', to: 'Failed' }))).toBe(r);
    expect(applyRunEvent(r, ev({ step: 's', kind: 'step-state', to: 'Failed' }))).toBe(r);
  });

  test('a step event updates that step only', () => {
    const steps = [step({ name: 'a' }), step({ name: 'b' })];
    const started = applyStepEvents(steps, [ev({ step: 'a', kind: 'step-state', from: 'Pending', to: 'Starting' })]);
    expect(started[0]).toMatchObject({ state: 'Starting', startedAt: '2026-01-01T00:00:05.000Z' });
    expect(started[1]).toBe(steps[1]);
    const ended = applyStepEvents(started, [ev({ step: 'a', kind: 'step-state', to: 'Succeeded', at: '2026-01-01T00:00:09.000Z' })]);
    expect(ended[0]).toMatchObject({ state: 'Succeeded', endedAt: '2026-01-01T00:00:09.000Z' });
    expect(applyStepEvents(steps, [ev({ step: 'zzz', kind: 'step-state', to: 'Failed' })])).toBe(steps);
  });

  test('events are merged once each, in sequence order', () => {
    const h = mergeEvents([ev({ seq: 1 }), ev({ seq: 3 })], [ev({ seq: 2 }), ev({ seq: 3 })]);
    expect(h.map((e) => e.seq)).toEqual([1, 2, 3]);
    const same = [ev({ seq: 1 })];
    expect(mergeEvents(same, [ev({ seq: 1 })])).toBe(same);
  });

  test('a batch of events is applied in order with one copy of the steps', () => {
    const steps = [step({ name: 'a' }), step({ name: 'b' }), step({ name: 'c' })];
    const out = applyStepEvents(steps, [
      ev({ step: 'a', kind: 'step-state', to: 'Starting' }),
      ev({ step: 'a', kind: 'step-state', to: 'Succeeded', at: '2026-01-01T00:00:09.000Z' }),
      ev({ step: 'c', kind: 'step-state', to: 'Failed' }),
      ev({ step: 'ghost', kind: 'step-state', to: 'Failed' }),
      ev({ kind: 'run-state', to: 'Running' }),
    ]);
    expect(out.map((s) => s.state)).toEqual(['Succeeded', 'Pending', 'Failed']);
    expect(out[0]).toMatchObject({ startedAt: '2026-01-01T00:00:05.000Z', endedAt: '2026-01-01T00:00:09.000Z' });
    expect(out[1]).toBe(steps[1]);
    expect(steps[0]!.state).toBe('Pending');
    expect(applyStepEvents(steps, [ev({ kind: 'run-state', to: 'Running' })])).toBe(steps);
  });

  test('events after the history are appended; late or repeated ones are merged once, in order', () => {
    const h = [ev({ seq: 1 }), ev({ seq: 2 })];
    expect(mergeEvents(h, [ev({ seq: 3 }), ev({ seq: 4 })]).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(mergeEvents(h, [ev({ seq: 5 }), ev({ seq: 5 }), ev({ seq: 0 })]).map((e) => e.seq)).toEqual([0, 1, 2, 5]);
    expect(mergeEvents([], [ev({ seq: 7 })]).map((e) => e.seq)).toEqual([7]);
  });

  test("a step's history is its own events, oldest first", () => {
    const h = stepHistory([ev({ seq: 5, step: 'a' }), ev({ seq: 2, step: 'a' }), ev({ seq: 3, step: 'b' }), ev({ seq: 4 })], 'a');
    expect(h.map((e) => e.seq)).toEqual([2, 5]);
  });
});

describe('callback steps', () => {
  test('await an answer while waiting with an unanswered token', () => {
    const cb = { kind: 'callback', callback: { token: 'abc', answered: false } };
    expect(awaitsAnswer(step({ ...cb, state: 'Running' }))).toBe(true);
    expect(awaitsAnswer(step({ ...cb, state: 'Stopping' }))).toBe(true);
    expect(awaitsAnswer(step({ ...cb, state: 'Succeeded' }))).toBe(false);
    expect(awaitsAnswer(step({ kind: 'callback', state: 'Running', callback: { token: 'abc', answered: true } }))).toBe(false);
    expect(awaitsAnswer(step({ kind: 'process', state: 'Running' }))).toBe(false);
  });
});

describe('batch selection', () => {
  test('splits the selected runs into those an action applies to and the rest', () => {
    const rows = [run({ id: 'a', state: 'Running' }), run({ id: 'b', state: 'Succeeded' }), run({ id: 'c', state: 'Queued' })];
    const stop = partitionSelection(rows, new Set(['a', 'b', 'c']), canStop);
    expect(stop.eligible.map((r) => r.id)).toEqual(['a', 'c']);
    expect(stop.ineligible.map((r) => r.id)).toEqual(['b']);
    const del = partitionSelection(rows, new Set(['a', 'b']), canDelete);
    expect(del.eligible.map((r) => r.id)).toEqual(['b']);
  });

  test('progress counts runs finished in the operation or seen final on the event stream', () => {
    expect(batchProgress(['a', 'b', 'c'], { a: { state: 'Stopped' } }, { b: 'Stopped', c: 'Stopping' })).toEqual({ finished: 2, total: 3 });
  });
});
