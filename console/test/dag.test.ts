import { describe, expect, test } from 'vitest';
import { edgePath, layoutDag, nodeHeight, nodeWidth } from '../src/dag';

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
