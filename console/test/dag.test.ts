import { describe, expect, test } from 'vitest';
import {
  collapseRun, drawnAs, edgePath, iterationCounts, layoutDag, nodeHeight, nodeNameOf, nodeWidth, summaryState, wideLoops,
} from '../src/dag';

describe('DAG layout', () => {
  const steps = [
    { name: 'prep', kind: 'process', dependsOn: [] },
    { name: 'a', kind: 'process', dependsOn: ['prep'] },
    { name: 'b', kind: 'process', dependsOn: ['prep'] },
    { name: 'check', kind: 'condition', dependsOn: ['a', 'b'] },
    { name: 'train', kind: 'process', dependsOn: ['check'], guard: { step: 'check', branch: true } },
    { name: 'small', kind: 'fail', dependsOn: ['check'], guard: { step: 'check', branch: false } },
  ];

  test('places every step, each dependency above its dependants', () => {
    const g = layoutDag(steps);
    expect(g.nodes.map((n) => n.name)).toEqual(steps.map((s) => s.name));
    const y = Object.fromEntries(g.nodes.map((n) => [n.name, n.y]));
    for (const s of steps) for (const d of s.dependsOn) expect(y[d]!).toBeLessThan(y[s.name]!);
    expect(g.nodes.every((n) => n.width === nodeWidth && n.height === nodeHeight)).toBe(true);
    expect(g.width).toBeGreaterThan(nodeWidth * 2);
    expect(g.height).toBeGreaterThan(nodeHeight * 4);
  });

  test('nodes do not overlap', () => {
    const g = layoutDag(steps);
    for (const p of g.nodes) {
      for (const q of g.nodes) {
        if (p === q) continue;
        const apart = Math.abs(p.x - q.x) >= nodeWidth || Math.abs(p.y - q.y) >= nodeHeight;
        expect(apart, `${p.name} and ${q.name}`).toBe(true);
      }
    }
  });

  test('an edge per dependency, labelled with the branch it takes', () => {
    const g = layoutDag(steps);
    expect(g.edges).toHaveLength(6);
    const label = (to: string) => g.edges.find((e) => e.to === to)?.label;
    expect(label('train')).toBe('then');
    expect(label('small')).toBe('else');
    expect(label('a')).toBeNull();
    expect(g.edges.every((e) => e.points.length >= 2)).toBe(true);
  });

  test('ignores a dependency on an unknown step', () => {
    const g = layoutDag([{ name: 'x', kind: 'process', dependsOn: ['ghost'] }]);
    expect(g.nodes).toHaveLength(1);
    expect(g.edges).toHaveLength(0);
  });

  test('an empty pipeline lays out to nothing', () => {
    expect(layoutDag([]).nodes).toEqual([]);
  });

  test('edge paths start at the first point and end at the last', () => {
    const d = edgePath([{ x: 0, y: 0 }, { x: 10, y: 10 }, { x: 20, y: 40 }]);
    expect(d.startsWith('M0,0')).toBe(true);
    expect(d.endsWith('L20,40')).toBe(true);
    expect(edgePath([])).toBe('');
  });
});

describe('wide for-each runs', () => {
  // prep -> loop (12 iterations of a -> b) -> after, plus a small loop of 2 iterations of c
  const steps = [
    { name: 'prep', kind: 'process', state: 'Succeeded', dependsOn: [] as string[] },
    { name: 'loop', kind: 'group', state: 'Running', dependsOn: ['prep'] },
    ...Array.from({ length: 12 }, (_, i) => [
      { name: `loop[${i}].a`, kind: 'process', state: i < 10 ? 'Succeeded' : 'Running', dependsOn: [] as string[], group: 'loop' },
      { name: `loop[${i}].b`, kind: 'process', state: i < 9 ? 'Succeeded' : i === 9 ? 'Failed' : 'Pending', dependsOn: [`loop[${i}].a`], group: 'loop' },
    ]).flat(),
    { name: 'small', kind: 'group', state: 'Succeeded', dependsOn: ['prep'] },
    { name: 'small[0].c', kind: 'process', state: 'Succeeded', dependsOn: [] as string[], group: 'small' },
    { name: 'small[1].c', kind: 'process', state: 'Succeeded', dependsOn: [] as string[], group: 'small' },
    { name: 'after', kind: 'process', state: 'Pending', dependsOn: ['loop', 'small'] },
  ];

  test('a for-each of more than the limit is wide, a small one is not', () => {
    expect(iterationCounts(steps.map((s) => s.name))).toEqual(new Map([['loop', 12], ['small', 2]]));
    expect(wideLoops(steps.map((s) => s.name))).toEqual(new Set(['loop']));
  });

  test('each body step of a wide loop is one node with its iterations counted by state', () => {
    const nodes = collapseRun(steps, new Set(['loop']));
    expect(nodes.map((n) => n.name)).toEqual(['prep', 'loop', 'loop[*].a', 'loop[*].b', 'small', 'small[0].c', 'small[1].c', 'after']);
    const a = nodes.find((n) => n.name === 'loop[*].a')!;
    const b = nodes.find((n) => n.name === 'loop[*].b')!;
    expect(a).toMatchObject({ count: 12, states: { Succeeded: 10, Running: 2 }, state: 'Running', group: 'loop', dependsOn: [] });
    expect(b).toMatchObject({ count: 12, states: { Succeeded: 9, Failed: 1, Pending: 2 }, state: 'Running', dependsOn: ['loop[*].a'] });
    expect(nodes.find((n) => n.name === 'small[0].c')).toMatchObject({ count: 1, states: null, state: 'Succeeded' });
  });

  test('a collapsed drawing has an edge per dependency once, and the group hangs its first members', () => {
    const g = layoutDag(collapseRun(steps, new Set(['loop'])));
    const edges = g.edges.map((e) => `${e.from}->${e.to}${e.contains ? ' (in)' : ''}`).sort();
    expect(edges).toEqual([
      'loop->loop[*].a (in)', 'loop->after', 'loop[*].a->loop[*].b', 'prep->loop', 'prep->small',
      'small->after', 'small->small[0].c (in)', 'small->small[1].c (in)',
    ].sort());
  });

  test('nested loops fold only the wide level', () => {
    expect(nodeNameOf('outer[3].inner[11].t', new Set(['outer[3].inner']))).toBe('outer[3].inner[*].t');
    expect(nodeNameOf('outer[3].inner[11].t', new Set(['outer']))).toBe('outer[*].inner[11].t');
    expect(nodeNameOf('outer[3].inner[11].t', new Set(['outer', 'outer[3].inner']))).toBe('outer[*].inner[*].t');
    expect(nodeNameOf('plain', new Set(['outer']))).toBe('plain');
    expect(drawnAs('loop[4].a', 'loop[*].a', new Set(['loop']))).toBe(true);
    expect(drawnAs('loop[4].ab', 'loop[*].a', new Set(['loop']))).toBe(false);
    expect(drawnAs('prep', 'prep', new Set())).toBe(true);
  });

  test('many steps have one state: the shared one, else what they are doing, else how they ended', () => {
    expect(summaryState({ Succeeded: 3 })).toBe('Succeeded');
    expect(summaryState({ Succeeded: 3, Pending: 1 })).toBe('Running');
    expect(summaryState({ Running: 1, Stopping: 1 })).toBe('Stopping');
    expect(summaryState({ Succeeded: 3, Failed: 1 })).toBe('Failed');
    expect(summaryState({ Stopped: 2, NotStarted: 5 })).toBe('Stopped');
    expect(summaryState({ Skipped: 2, Succeeded: 1 })).toBe('Succeeded');
  });

  test('ten thousand iterations fold in linear time into a small drawing', () => {
    const many = [{ name: 'loop', kind: 'group', state: 'Running', dependsOn: [] as string[] }];
    for (let i = 0; i < 10_000; i++) many.push({ name: `loop[${i}].t`, kind: 'process', state: 'Pending', dependsOn: [], group: 'loop' } as never);
    const nodes = collapseRun(many, wideLoops(many.map((s) => s.name)));
    expect(nodes).toHaveLength(2);
    expect(nodes[1]).toMatchObject({ name: 'loop[*].t', count: 10_000, states: { Pending: 10_000 } });
    expect(layoutDag(nodes).nodes).toHaveLength(2);
  });
});
