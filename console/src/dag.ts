// Lays out a pipeline's steps as a DAG with dagre; the drawing is in components/Dag.tsx.
import { Graph, layout } from '@dagrejs/dagre';

export interface DagStep {
  name: string;
  kind: string;
  dependsOn: string[];
  guard?: { step: string; branch: boolean } | null;
  /** The group step it belongs to: drawn as an edge from the group to the members that wait for no other member. */
  group?: string | null;
}

export interface DagNode {
  name: string;
  kind: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface DagEdge {
  from: string;
  to: string;
  /** "then" / "else" when the edge is a condition's branch. */
  label: string | null;
  /** From a group to a step in it, not a dependency. */
  contains: boolean;
  points: { x: number; y: number }[];
}

export interface DagLayout {
  nodes: DagNode[];
  edges: DagEdge[];
  width: number;
  height: number;
}

export const nodeWidth = 176;
export const nodeHeight = 48;

/** Top-to-bottom layout; edges to unknown steps are dropped (a definition the server accepted has none). */
export function layoutDag(steps: DagStep[], direction: 'TB' | 'LR' = 'TB'): DagLayout {
  const g = new Graph({ multigraph: false });
  g.setGraph({ rankdir: direction, nodesep: 28, ranksep: 44, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  const names = new Set(steps.map((s) => s.name));
  for (const s of steps) g.setNode(s.name, { width: nodeWidth, height: nodeHeight });
  const byName = new Map(steps.map((s) => [s.name, s]));
  const contains = new Set<string>();
  for (const s of steps) {
    for (const d of s.dependsOn) {
      if (names.has(d) && d !== s.name) g.setEdge(d, s.name, {});
    }
    // a member that waits for no other member of its group hangs below the group
    if (s.group && names.has(s.group) && s.group !== s.name && !s.dependsOn.some((d) => byName.get(d)?.group === s.group)) {
      if (!g.hasEdge(s.group, s.name)) contains.add(`${s.group}\u0000${s.name}`);
      g.setEdge(s.group, s.name, {});
    }
  }
  layout(g);
  const nodes = steps.map((s) => {
    const n = g.node(s.name) as { x: number; y: number; width: number; height: number };
    return { name: s.name, kind: s.kind, x: n.x, y: n.y, width: n.width, height: n.height };
  });
  const edges = g.edges().map((e) => {
    const to = byName.get(e.w);
    const label = to?.guard && to.guard.step === e.v ? (to.guard.branch ? 'then' : 'else') : null;
    const pts = ((g.edge(e) as { points?: { x: number; y: number }[] }).points ?? []).map((p) => ({ x: p.x, y: p.y }));
    return { from: e.v, to: e.w, label, contains: contains.has(`${e.v}\u0000${e.w}`), points: pts };
  });
  const gl = g.graph() as { width?: number; height?: number };
  return { nodes, edges, width: Math.ceil(gl.width ?? 0), height: Math.ceil(gl.height ?? 0) };
}

/** An SVG path through the edge's points, with rounded bends. */
export function edgePath(points: { x: number; y: number }[]): string {
  if (points.length === 0) return '';
  const [first, ...rest] = points;
  if (!first) return '';
  if (rest.length === 0) return `M${first.x},${first.y}`;
  let d = `M${round(first.x)},${round(first.y)}`;
  for (let i = 0; i < rest.length; i++) {
    const p = rest[i]!;
    const next = rest[i + 1];
    if (next) {
      // a quadratic curve through the bend's midpoint keeps the line smooth without hand-written routing
      const mx = (p.x + next.x) / 2;
      const my = (p.y + next.y) / 2;
      d += ` Q${round(p.x)},${round(p.y)} ${round(mx)},${round(my)}`;
    } else {
      d += ` L${round(p.x)},${round(p.y)}`;
    }
  }
  return d;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/** A step as the run page knows it, for drawing: its state and, for an iteration's step, the group it belongs to. */
export interface RunDagStep extends DagStep {
  state: string;
  group?: string | null;
}

/** A node of a run's drawing: one step, or (collapsed) the same body step of every iteration of a wide for-each. */
export interface RunDagNode extends DagStep {
  state: string;
  /** The steps drawn as this node: just the step itself unless collapsed. */
  count: number;
  /** For a collapsed node, how many of its steps are in each state (by state name). */
  states: Record<string, number> | null;
}

/** A for-each with more iterations than this is drawn as one node per body step. */
export const collapseAbove = 8;

const iterationIndex = /\[(\d+)\]\./g;

/** Iteration counts by for-each (step record name), read from step names (`loop[3].t`: iteration 3 of loop). */
export function iterationCounts(names: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const name of names) {
    if (!name.includes('[')) continue;
    for (const m of name.matchAll(iterationIndex)) {
      const loop = name.slice(0, m.index);
      const n = Number(m[1]) + 1;
      if ((counts.get(loop) ?? 0) < n) counts.set(loop, n);
    }
  }
  return counts;
}

/** The node a step is drawn as: its own name, or with the iteration of every wide for-each it is in replaced by `*`
 *  (`loop[3].t` → `loop[*].t`). */
export function nodeNameOf(name: string, wide: ReadonlySet<string>): string {
  if (!name.includes('[') || wide.size === 0) return name;
  let out = '';
  let from = 0;
  for (const m of name.matchAll(iterationIndex)) {
    if (!wide.has(name.slice(0, m.index))) continue;
    out += `${name.slice(from, m.index)}[*].`;
    from = m.index + m[0].length;
  }
  return out + name.slice(from);
}

/** Whether a step is drawn as the given (possibly collapsed) node. */
export function drawnAs(step: string, node: string, wide: ReadonlySet<string>): boolean {
  return step === node || (node.includes('[*]') && nodeNameOf(step, wide) === node);
}

/** The for-each groups that are drawn collapsed. */
export function wideLoops(names: Iterable<string>, above = collapseAbove): Set<string> {
  const wide = new Set<string>();
  for (const [loop, n] of iterationCounts(names)) if (n > above) wide.add(loop);
  return wide;
}

/** A run's steps as the nodes to draw: each wide for-each's iterations folded into one node per body step, with
 *  counts by state, and each edge once. Linear in the number of steps. */
export function collapseRun(steps: RunDagStep[], wide: ReadonlySet<string>): RunDagNode[] {
  const nodes = new Map<string, RunDagNode & { deps: Set<string> }>();
  for (const s of steps) {
    const name = nodeNameOf(s.name, wide);
    let n = nodes.get(name);
    if (!n) {
      const guard = s.guard ? { step: nodeNameOf(s.guard.step, wide), branch: s.guard.branch } : null;
      const group = s.group ? nodeNameOf(s.group, wide) : null;
      n = { name, kind: s.kind, state: s.state, dependsOn: [], guard, group, count: 0, states: null, deps: new Set() };
      nodes.set(name, n);
    }
    n.count++;
    if (name !== s.name) (n.states ??= {})[s.state] = (n.states[s.state] ?? 0) + 1;
    for (const d of s.dependsOn) {
      const dn = nodeNameOf(d, wide);
      if (dn !== name) n.deps.add(dn);
    }
  }
  const out: RunDagNode[] = [];
  for (const { deps, ...n } of nodes.values()) {
    out.push({ ...n, dependsOn: [...deps], state: n.states ? summaryState(n.states) : n.state });
  }
  return out;
}

/** One state for many steps: the one they share, else what the group of them is doing (stopping, running: some are
 *  active or some have ended while others wait), else how they ended (a failure first). */
export function summaryState(states: Record<string, number>): string {
  const has = (s: string) => (states[s] ?? 0) > 0;
  const present = Object.keys(states).filter(has);
  if (present.length === 1) return present[0]!;
  if (has('Stopping')) return 'Stopping';
  if (has('Running') || has('Starting') || has('Pending')) return 'Running';
  for (const s of ['Failed', 'Stopped', 'Succeeded', 'Skipped', 'NotStarted']) if (has(s)) return s;
  return present[0] ?? 'Pending';
}
