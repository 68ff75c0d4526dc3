import { useMemo } from 'preact/hooks';
import { edgePath, layoutDag, type DagStep } from '../dag';
import { runStateLabel, stateSymbol, stateTone } from '../state';

export interface DagProps {
  /** Steps, or nodes that stand for many steps (count > 1, with states counted). */
  steps: (DagStep & { state?: string; count?: number; states?: Record<string, number> | null })[];
  selected?: string | null;
  onSelect?: (name: string) => void;
  label: string;
}

/** The run's (or pipeline's) steps as a graph; each node is a button coloured by its step's state. */
export function Dag({ steps, selected, onSelect, label }: DagProps) {
  // Layout depends only on the shape, not on states, so live updates only recolour.
  const shape = steps.map((s) => `${s.name}<${s.dependsOn.join(',')}>${s.guard ? `${s.guard.step}:${s.guard.branch}` : ''}^${s.group ?? ''}`).join('|');
  const g = useMemo(() => layoutDag(steps), [shape]);
  const byName = new Map(steps.map((s) => [s.name, s]));
  if (steps.length === 0) return <p class="muted">This pipeline has no steps.</p>;
  return (
    <div class="dag-scroll">
      <svg
        class="dag"
        role="group"
        aria-label={label}
        width={g.width}
        height={g.height}
        viewBox={`0 0 ${g.width} ${g.height}`}
      >
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" class="dag-arrow" />
          </marker>
        </defs>
        {g.edges.map((e) => {
          const mid = e.points[Math.floor(e.points.length / 2)];
          return (
            <g key={`${e.from}->${e.to}`} class={`dag-edge${e.contains ? ' contains' : ''}`} aria-hidden="true">
              <path d={edgePath(e.points)} marker-end="url(#arrow)" />
              {e.label && mid && (
                <text x={mid.x + 6} y={mid.y} class="dag-edge-label">
                  {e.label}
                </text>
              )}
            </g>
          );
        })}
        {g.nodes.map((n) => {
          const step = byName.get(n.name);
          const state = step?.state;
          const tone = state ? stateTone(state) : 'plain';
          const isSel = selected === n.name;
          const many = step?.states ? countsOf(step.states) : null;
          const text = many
            ? `${n.name}, ${step!.count ?? 0} ${n.kind} steps (one per iteration): ${many.map(([st, c]) => `${c} ${runStateLabel(st)}`).join(', ')}`
            : `${n.name}, ${n.kind} step${state ? `, ${runStateLabel(state)}` : ''}`;
          return (
            <g
              key={n.name}
              class={`dag-node tone-${tone}${isSel ? ' selected' : ''}${onSelect ? ' clickable' : ''}`}
              transform={`translate(${n.x - n.width / 2},${n.y - n.height / 2})`}
              data-step={n.name}
              data-state={state}
              role={onSelect ? 'button' : 'img'}
              tabindex={onSelect ? 0 : undefined}
              aria-label={text}
              aria-pressed={onSelect ? isSel : undefined}
              onClick={onSelect ? () => onSelect(n.name) : undefined}
              onKeyDown={onSelect ? (e) => {
                if (e.key === 'Enter' || e.key === ' ') {
                  e.preventDefault();
                  onSelect(n.name);
                }
              } : undefined}
            >
              <title>{text}</title>
              <rect width={n.width} height={n.height} rx="8" ry="8" class={many ? 'stack' : undefined} />
              {many ? (
                <>
                  <text x="12" y="20" class="dag-node-name">
                    {ellipsize(n.name.slice(n.name.lastIndexOf('[*].') + 4), 12)}
                    <tspan class="dag-node-count"> ×{(step!.count ?? 0).toLocaleString('en-US')}</tspan>
                  </text>
                  <text x="12" y="35" class="dag-node-meta">
                    {many.slice(0, 3).map(([st, c]) => `${stateSymbol(st)} ${c.toLocaleString('en-US')}`).join('  ')}
                  </text>
                  <Bar counts={many} total={step!.count ?? 0} width={n.width - 24} />
                </>
              ) : (
                <>
                  <text x="12" y="20" class="dag-node-name">
                    {ellipsize(n.name, 20)}
                  </text>
                  <text x="12" y="37" class="dag-node-meta">
                    {state ? `${stateSymbol(state)} ${runStateLabel(state)}` : n.kind}
                    {state ? ` · ${n.kind}` : ''}
                  </text>
                </>
              )}
            </g>
          );
        })}
      </svg>
    </div>
  );
}

/** States by how many steps are in each, most first. */
function countsOf(states: Record<string, number>): [string, number][] {
  return Object.entries(states).filter(([, c]) => c > 0).sort((a, b) => b[1] - a[1]);
}

/** How many of a collapsed node's steps are in each state, as one bar of coloured segments. */
function Bar({ counts, total, width }: { counts: [string, number][]; total: number; width: number }) {
  let x = 12;
  return (
    <g class="dag-node-bar" aria-hidden="true">
      {counts.map(([st, c]) => {
        const w = total > 0 ? (width * c) / total : 0;
        const seg = <rect key={st} x={x} y={40} width={Math.max(w, 1)} height={4} class={`bar-${stateTone(st)}`} />;
        x += w;
        return seg;
      })}
    </g>
  );
}

function ellipsize(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
