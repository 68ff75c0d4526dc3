// Lays out a pipeline's steps as a DAG with dagre; the drawing is in components/Dag.tsx.
import { Graph, layout } from '@dagrejs/dagre';

export interface DagStep {
  name: string;
  kind: string;
  dependsOn: string[];
  guard?: { step: string; branch: boolean } | null;
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
  for (const s of steps) {
    for (const d of s.dependsOn) {
      if (names.has(d) && d !== s.name) g.setEdge(d, s.name, {});
    }
  }
  layout(g);
  const byName = new Map(steps.map((s) => [s.name, s]));
  const nodes = steps.map((s) => {
    const n = g.node(s.name) as { x: number; y: number; width: number; height: number };
    return { name: s.name, kind: s.kind, x: n.x, y: n.y, width: n.width, height: n.height };
  });
  const edges = g.edges().map((e) => {
    const to = byName.get(e.w);
    const label = to?.guard && to.guard.step === e.v ? (to.guard.branch ? 'then' : 'else') : null;
    const pts = ((g.edge(e) as { points?: { x: number; y: number }[] }).points ?? []).map((p) => ({ x: p.x, y: p.y }));
    return { from: e.v, to: e.w, label, points: pts };
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
