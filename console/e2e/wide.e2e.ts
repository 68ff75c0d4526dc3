// A wide run in real Chromium against a real server: a Vertex ParallelFor of 300 iterations is drawn as one node per
// body step with its iterations counted by state, live; its node lists its iterations a page at a time; a stop of a
// wide run shows how many iterations were stopped and how many never started.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { assertNotReloaded, browserSuite, markNoReload, screenshot, unique } from './harness';

const suite = browserSuite(['--slots', '4']);

const parent = 'projects/my-proj/locations/us-central1';
const width = 300;

/** A KFP pipeline: pre, then a ParallelFor over `width` items whose body is t (the script) and u (after t). */
function parallelFor(name: string, script: string) {
  const exec = (cmd: string[]) => ({ container: { image: 'alpine', command: cmd } });
  return {
    pipelineInfo: { name },
    schemaVersion: '2.1.0',
    sdkVersion: 'kfp-2.14.6',
    root: {
      dag: {
        tasks: {
          pre: { componentRef: { name: 'comp-quick' }, taskInfo: { name: 'pre' } },
          'for-loop-1': {
            componentRef: { name: 'comp-for-loop-1' },
            dependentTasks: ['pre'],
            parameterIterator: { itemInput: 'pipelinechannel--loop-item-param-1', items: { raw: JSON.stringify([...Array(width).keys()]) } },
            taskInfo: { name: 'for-loop-1' },
          },
        },
      },
    },
    components: {
      'comp-for-loop-1': {
        dag: {
          tasks: {
            t: { componentRef: { name: 'comp-work' }, taskInfo: { name: 't' } },
            u: { componentRef: { name: 'comp-quick' }, dependentTasks: ['t'], taskInfo: { name: 'u' } },
          },
        },
        inputDefinitions: { parameters: { 'pipelinechannel--loop-item-param-1': { parameterType: 'NUMBER_INTEGER' } } },
      },
      'comp-work': { executorLabel: 'exec-work' },
      'comp-quick': { executorLabel: 'exec-quick' },
    },
    deploymentSpec: { executors: { 'exec-work': exec(['sh', '-c', script]), 'exec-quick': exec(['true']) } },
  };
}

async function createJob(script: string): Promise<string> {
  const { server } = suite;
  const jobId = unique('wide').toLowerCase().replace(/[^a-z0-9-]/g, '-');
  const r = await fetch(`${server.url}/v1/${parent}/pipelineJobs?pipelineJobId=${jobId}`, {
    method: 'POST',
    headers: { ...server.auth, 'Content-Type': 'application/json' },
    body: JSON.stringify({ displayName: 'wide job', pipelineSpec: parallelFor(jobId, script), runtimeConfig: { gcsOutputDirectory: 'gs://sluice-e2e/root' } }),
  });
  expect(r.status, await r.clone().text()).toBe(200);
  return jobId;
}

const runState = () => suite.page.locator('#run-state');
const node = (name: string) => suite.page.locator(`.dag-node[data-step="${name}"]`);

test('a ParallelFor of 300 is one node per body step, counted live; its node lists its iterations a page at a time', async () => {
  const { server, page } = suite;
  const gate = join(server.dataDir, `gate-${Math.random().toString(36).slice(2)}`);
  const jobId = await createJob(`while [ ! -e ${gate} ]; do sleep 0.05; done`);
  await server.waitForStep(jobId, 'for-loop-1[0].t', 'Running');
  await page.goto(`${server.url}/runs/${jobId}`);
  await page.locator('#run-heading').waitFor();
  await markNoReload(page);

  // four nodes, not 602: pre, the loop, and each body step once
  await node('for-loop-1[*].t').waitFor();
  expect(await page.locator('.dag-node').count()).toBe(4);
  expect(await node('for-loop-1[*].t').getAttribute('aria-label')).toContain(`${width} process steps`);
  await expect.poll(() => node('for-loop-1[*].t').getAttribute('data-state')).toBe('Running');
  expect(await node('for-loop-1[*].t').getAttribute('aria-label')).toMatch(/\b4 Running\b/);
  expect(await page.locator('.dag-edge.contains').count()).toBe(1);
  expect(await page.locator('.dag-edge').count()).toBe(3);

  writeFileSync(gate, '');
  await expect.poll(() => runState().getAttribute('data-state'), { timeout: 60_000 }).toBe('Succeeded');
  await expect.poll(() => node('for-loop-1[*].u').getAttribute('aria-label')).toContain(`${width} Succeeded`);
  expect(await node('for-loop-1[*].u').getAttribute('data-state')).toBe('Succeeded');
  expect(await assertNotReloaded(page)).toBe(true);
  await screenshot(page, 'run-details-wide', { fullPage: false, docs: true });

  // the node lists its iterations: 100 at a time, filtered by name
  await node('for-loop-1[*].t').click();
  await expect.poll(() => page.url()).toContain(`step=${encodeURIComponent('for-loop-1[*].t')}`);
  expect(await node('for-loop-1[*].t').getAttribute('class')).toContain('selected');
  expect(await page.locator('[data-testid="node-counts"] li[data-state="Succeeded"]').textContent()).toContain(String(width));
  const rows = page.locator('.step-list tbody tr');
  await expect.poll(() => rows.count()).toBe(100);
  expect(await page.locator('.step-count').textContent()).toContain(`Showing 100 of ${width} steps.`);
  await page.getByRole('button', { name: 'Show 100 more' }).click();
  await expect.poll(() => rows.count()).toBe(200);
  await page.getByRole('searchbox').fill('[299]');
  await expect.poll(() => rows.count()).toBe(1);

  // one iteration opens its own panel; the graph still marks the node it is drawn as
  await page.getByRole('button', { name: 'for-loop-1[299].t', exact: true }).click();
  await page.locator('[data-step-panel="for-loop-1[299].t"]').waitFor();
  expect(await node('for-loop-1[*].t').getAttribute('class')).toContain('selected');

  // the history shows the newest events until asked for all
  const total = (await server.api<{ events: unknown[] }>('GET', `/runs/${jobId}/events`)).events.length;
  expect(total).toBeGreaterThan(4 * width);
  const history = page.locator('ol[aria-label="Run history, oldest first"] li');
  expect(await history.count()).toBe(300);
  await page.getByRole('button', { name: 'Show all' }).click();
  await expect.poll(() => history.count()).toBe(total);

  // the pipeline, kept in the job's project and location, opens from the run: its body once, as the run draws it
  await page.getByRole('link', { name: new RegExp(`^${jobId} v1$`) }).click();
  await expect.poll(() => page.url()).toContain(`/runs/${jobId}/pipeline`);
  await node('for-loop-1[*].u').waitFor();
  expect((await page.locator('.dag-node').evaluateAll((ns) => ns.map((n) => n.getAttribute('data-step')))).sort())
    .toEqual(['for-loop-1', 'for-loop-1[*].t', 'for-loop-1[*].u', 'pre']);
  expect(await page.locator('.dag-edge.contains').count()).toBe(1);
  expect(await page.getByRole('heading', { name: 'Start a run' }).count()).toBe(0);
});

test('a stopped ParallelFor shows how many iterations were stopped and how many never started', async () => {
  const { server, page } = suite;
  const jobId = await createJob('sleep 300');
  await server.waitForStep(jobId, 'for-loop-1[3].t', 'Running');
  await page.goto(`${server.url}/runs/${jobId}`);
  await page.locator('#run-heading').waitFor();
  await expect.poll(() => node('for-loop-1[*].t').getAttribute('data-state')).toBe('Running');

  await page.getByRole('button', { name: 'Stop', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: /Stop run/ });
  await dialog.waitFor();
  await dialog.getByRole('button', { name: 'Stop run' }).click();

  await expect.poll(() => runState().getAttribute('data-state'), { timeout: 30_000 }).toBe('Stopped');
  await expect.poll(() => node('for-loop-1[*].t').getAttribute('aria-label')).toContain(`${width - 4} Not started`);
  expect(await node('for-loop-1[*].t').getAttribute('aria-label')).toContain('4 Stopped');
  expect(await node('for-loop-1[*].t').getAttribute('data-state')).toBe('Stopped');
  expect(await node('for-loop-1[*].u').getAttribute('aria-label')).toContain(`${width} Not started`);
});
