import { useEffect, useMemo, useState } from 'preact/hooks';
import type { Step } from '../api';
import { drawnAs } from '../dag';
import { elapsed } from '../format';
import { runStateLabel } from '../state';
import { StateBadge } from './ui';

export const stepPageSize = 100;

interface Props {
  steps: Step[];
  face: string;
  now: number;
  /** The selected step, or a collapsed node (`loop[*].t`): then only the steps drawn as it are listed. */
  selected: string | null;
  wide: ReadonlySet<string>;
  onSelect: (name: string) => void;
}

/** The run's steps as a table; a run of thousands of steps is listed a page at a time and can be filtered by name and
 *  state (a collapsed node of the graph lists its iterations). */
export function StepList({ steps, face, now, selected, wide, onSelect }: Props) {
  const [text, setText] = useState('');
  const [state, setState] = useState('');
  const [limit, setLimit] = useState(stepPageSize);
  const node = selected && selected.includes('[*]') ? selected : null;
  useEffect(() => setLimit(stepPageSize), [text, state, node]);

  const inNode = useMemo(() => (node ? steps.filter((s) => drawnAs(s.name, node, wide)) : steps), [steps, node, wide]);
  const counts = useMemo(() => {
    const c = new Map<string, number>();
    for (const s of inNode) c.set(s.state, (c.get(s.state) ?? 0) + 1);
    return c;
  }, [inNode]);
  const needle = text.trim().toLowerCase();
  const shown = inNode.filter((s) => (!state || s.state === state) && (!needle || s.name.toLowerCase().includes(needle)));
  const filtering = steps.length > stepPageSize || !!node || !!needle || !!state;

  return (
    <div class="step-list-wrap">
      {filtering && (
        <div class="step-filter" role="search" aria-label="Filter steps">
          <label>
            <span class="sr-only">Step name contains</span>
            <input type="search" placeholder="Filter by name" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
          </label>
          <label>
            <span class="sr-only">State</span>
            <select value={state} onChange={(e) => setState((e.target as HTMLSelectElement).value)}>
              <option value="">All states ({inNode.length.toLocaleString('en-US')})</option>
              {[...counts].map(([st, c]) => (
                <option key={st} value={st}>{runStateLabel(st, face)} ({c.toLocaleString('en-US')})</option>
              ))}
            </select>
          </label>
          {node && <span class="muted small">Iterations of <span class="mono">{node}</span></span>}
        </div>
      )}
      <div class="step-list-scroll">
      <table class="step-list">
        <caption class="sr-only">Steps</caption>
        <thead>
          <tr><th scope="col">Step</th><th scope="col">State</th><th scope="col">Duration</th></tr>
        </thead>
        <tbody>
          {shown.slice(0, limit).map((s) => (
            <tr key={s.name} class={s.name === selected ? 'selected' : ''}>
              <td>
                <button type="button" class="linklike" aria-pressed={s.name === selected} onClick={() => onSelect(s.name)}>
                  {s.name}
                </button>
                <span class="muted small"> {s.kind}</span>
              </td>
              <td><StateBadge state={s.state} face={face} /></td>
              <td class="num">{elapsed(s.startedAt, s.endedAt, now)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      </div>
      {filtering && (
        <p class="muted small step-count" aria-live="polite">
          {shown.length === 0
            ? 'No step matches.'
            : `Showing ${Math.min(limit, shown.length).toLocaleString('en-US')} of ${shown.length.toLocaleString('en-US')} steps.`}
          {shown.length > limit && (
            <>
              {' '}
              <button type="button" class="btn ghost small" onClick={() => setLimit((l) => l + stepPageSize)}>
                Show {Math.min(stepPageSize, shown.length - limit)} more
              </button>
            </>
          )}
        </p>
      )}
    </div>
  );
}
