// The run details page in real Chromium against a real server: Stop's availability per state, the stop flow with
// live updates, the DAG, a callback approval, delete rules, the live log.
import type { BrowserContext, Page } from 'playwright-core';
import { beforeAll, describe, expect, test } from 'vitest';
import { assertNotReloaded, browserSuite, markNoReload, screenshot, SluiceServer, unique, until } from './harness';

let server: SluiceServer;
let context: BrowserContext;
let page: Page;

const sleeper = unique('sleeper');
// A process that takes its time to stop: SIGTERM starts a 3 s clean-up, so the run is visibly Stopping.
const slowStop = unique('slowstop');
const quick = unique('quick');
const failing = unique('failing');
const graph = unique('graph');
const approval = unique('approval');
const chatty = unique('chatty');
const showcase = 'train-and-approve';

browserSuite(['--slots', '16'], {
  server: (s) => (server = s),
  context: (c) => (context = c),
  page: (p) => (page = p),
});

beforeAll(async () => {
  await server.createPipeline(`
name: ${sleeper}
steps:
  - name: wait
    command: sleep
    args: ["300"]
`);
  await server.createPipeline(`
name: ${slowStop}
steps:
  - name: work
    command: sh
    args: ["-c", "trap 'echo cleaning up; sleep 3; exit 0' TERM; echo working; while true; do sleep 0.1; done"]
  - name: after
    command: "true"
    dependsOn: [work]
`);
  await server.createPipeline(`
name: ${quick}
steps:
  - name: ok
    command: "true"
`);
  await server.createPipeline(`
name: ${failing}
steps:
  - name: boom
    command: sh
    args: ["-c", "echo broken >&2; exit 3"]
`);
  await server.createPipeline(`
name: ${graph}
parameters:
  rows: { type: Integer, default: 20 }
steps:
  - name: prepare
    command: sh
    args: ["-c", "echo {{params.rows}} > $SLUICE_OUTPUTS/count"]
    outputs: { count: Integer }
  - name: features-a
    command: "true"
    dependsOn: [prepare]
  - name: features-b
    command: "true"
    dependsOn: [prepare]
  - name: enough
    type: condition
    if: "steps.prepare.outputs.count > 10"
    dependsOn: [features-a, features-b]
    then:
      - name: train
        command: "true"
    else:
      - name: too-small
        type: fail
        message: "not enough rows"
`);
  await server.createPipeline(`
name: ${approval}
steps:
  - name: train
    command: sh
    args: ["-c", "echo 0.93 > $SLUICE_OUTPUTS/accuracy"]
    outputs: { accuracy: Float }
  - name: approve
    type: callback
    queue: ${approval}
    arguments: { accuracy: "{{steps.train.outputs.accuracy}}" }
    outputs: { verdict: String, reviewer: String }
  - name: deploy
    command: sh
    args: ["-c", "echo deploying $0 > $SLUICE_OUTPUTS/done", "{{steps.approve.outputs.verdict}}"]
    outputs: { done: String }
`);
  await server.createPipeline(`
name: ${showcase}
description: Prepares features, trains, and waits for a person to approve the model before deploying it.
parameters:
  epochs: { type: Integer, default: 3 }
steps:
  - name: prepare
    command: sh
    args: ["-c", "echo 'reading 20000 rows'; echo 20000 > $SLUICE_OUTPUTS/rows"]
    outputs: { rows: Integer }
  - name: features-text
    command: sh
    args: ["-c", "echo text features"]
    dependsOn: [prepare]
  - name: features-image
    command: sh
    args: ["-c", "echo image features"]
    dependsOn: [prepare]
  - name: features-tabular
    command: sh
    args: ["-c", "echo tabular features"]
    dependsOn: [prepare]
  - name: train
    command: sh
    args: ["-c", "for e in 1 2 3; do echo epoch $e/3 loss=0.$((9 - e)); done; echo 0.94 > $SLUICE_OUTPUTS/accuracy"]
    dependsOn: [features-text, features-image, features-tabular]
    outputs: { accuracy: Float }
  - name: good-enough
    type: condition
    if: "steps.train.outputs.accuracy >= 0.9"
    then:
      - name: approve
        type: callback
        queue: approvals
        arguments: { accuracy: "{{steps.train.outputs.accuracy}}" }
        outputs: { verdict: String, reviewer: String }
      - name: deploy
        command: sh
        args: ["-c", "echo deploying $0", "{{steps.approve.outputs.verdict}}"]
    else:
      - name: too-weak
        type: fail
        message: "accuracy {{steps.train.outputs.accuracy}} is below 0.9"
`);
  await server.createPipeline(`
name: ${chatty}
steps:
  - name: talk
    command: sh
    args: ["-c", "echo line-one; sleep 0.3; echo line-two; sleep 300"]
`);
});

async function openRun(id: string) {
  await page.goto(`${server.url}/runs/${id}`);
  await page.locator('#run-heading').waitFor();
}

const stopButton = () => page.getByRole('button', { name: 'Stop', exact: true });
const deleteButton = () => page.getByRole('button', { name: 'Delete', exact: true });
const runState = () => page.locator('#run-state');

describe('Stop button', () => {
  test('is enabled only while the run is Queued or Running', async () => {
    // Running
    const running = await server.startRun(sleeper);
    await server.waitForState(running.id, 'Running');
    await openRun(running.id);
    await expect.poll(() => runState().getAttribute('data-state')).toBe('Running');
    expect(await stopButton().isEnabled()).toBe(true);

    // Stopping: the process is still cleaning up
    const slow = await server.startRun(slowStop);
    await server.waitForStep(slow.id, 'work', 'Running');
    // Running is recorded once the process exists, which can be before the shell has set its trap.
    await server.waitForLog(slow.id, 'work', 'working');
    await server.api('POST', `/runs/${slow.id}:stop`, { reason: 'test', graceSeconds: 30 });
    await openRun(slow.id);
    await expect.poll(() => runState().getAttribute('data-state')).toBe('Stopping');
    expect(await stopButton().isDisabled()).toBe(true);

    // Stopped, Succeeded, Failed: all final
    await server.waitForState(slow.id, 'Stopped');
    await expect.poll(() => runState().getAttribute('data-state')).toBe('Stopped');
    expect(await stopButton().isDisabled()).toBe(true);

    const ok = await server.startRun(quick);
    await server.waitForState(ok.id, 'Succeeded');
    await openRun(ok.id);
    expect(await runState().getAttribute('data-state')).toBe('Succeeded');
    expect(await stopButton().isDisabled()).toBe(true);

    const bad = await server.startRun(failing);
    await server.waitForState(bad.id, 'Failed');
    await openRun(bad.id);
    expect(await runState().getAttribute('data-state')).toBe('Failed');
    expect(await stopButton().isDisabled()).toBe(true);
    await expect.poll(() => page.locator('.run-error').textContent()).toContain('boom');

    await server.api('POST', `/runs/${running.id}:stop`, { graceSeconds: 0 });
  });

  test('is enabled while the run is Queued (no slot free yet)', async () => {
    const one = await SluiceServer.start(['--slots', '1']);
    try {
      await one.createPipeline(`
name: hold
steps:
  - name: wait
    command: sleep
    args: ["300"]
`);
      const first = await one.startRun('hold');
      await one.waitForState(first.id, 'Running');
      const queued = await one.startRun('hold');
      expect((await one.getRun(queued.id)).state).toBe('Queued');
      // cookies do not tell ports apart: this server's session replaces the other's in this context
      await one.signIn(context);
      await page.goto(`${one.url}/runs/${queued.id}`);
      await expect.poll(() => page.locator('#run-state').getAttribute('data-state')).toBe('Queued');
      expect(await stopButton().isEnabled()).toBe(true);
      // a queued run stops at once: nothing of it ever started
      await stopButton().click();
      await page.getByRole('dialog').getByRole('button', { name: 'Stop run' }).click();
      await expect.poll(() => page.locator('#run-state').getAttribute('data-state')).toBe('Stopped');
      expect(await stopButton().isDisabled()).toBe(true);
      const run = await one.getRun(queued.id);
      expect(run.steps.map((s) => s.state)).toEqual(['NotStarted']);
      await page.goto('about:blank');
    } finally {
      await one.stop();
    }
  });
});

test('stop flow: reason, then Stopping and Stopped live, without a reload', async () => {
  const run = await server.startRun(slowStop, { displayName: 'nightly retrain', labels: { team: 'ml' } });
  await server.waitForLog(run.id, 'work', 'working');
  await openRun(run.id);
  await markNoReload(page);
  await expect.poll(() => runState().getAttribute('data-state')).toBe('Running');

  await stopButton().click();
  const dialog = page.getByRole('dialog', { name: /Stop run nightly retrain/ });
  await dialog.waitFor();
  await dialog.getByLabel('Reason (optional)').fill('bad input data');
  await dialog.getByRole('button', { name: 'Stop run' }).click();

  // Stopping while the process cleans up (3 s), then Stopped, both arriving over the event stream
  await expect.poll(() => runState().getAttribute('data-state'), { timeout: 5_000 }).toBe('Stopping');
  expect(await runState().textContent()).toContain('Stopping');
  expect(await stopButton().isDisabled()).toBe(true);
  await page.locator('.dag-node[data-step="work"][data-state="Stopping"]').waitFor();
  await expect.poll(() => runState().getAttribute('data-state'), { timeout: 20_000 }).toBe('Stopped');
  expect(await assertNotReloaded(page)).toBe(true);

  await page.locator('.dag-node[data-step="work"][data-state="Stopped"]').waitFor();
  await page.locator('.dag-node[data-step="after"][data-state="NotStarted"]').waitFor();
  const info = await page.getByTestId('stop-info').textContent();
  // who stopped it: the token the console signed in with
  expect(info).toContain('token:local-admin');
  expect(info).toContain('bad input data');
  const history = await page.locator('ol.history').first().textContent();
  expect(history).toContain('Stop requested (Running → Stopping): bad input data');
  expect(history).toMatch(/Run Stopping → Stopped/);
  expect(await deleteButton().isEnabled()).toBe(true);
  await screenshot(page, 'run-details-stopped');
  expect((await server.getRun(run.id)).state).toBe('Stopped');
});

test('a run that came through the Vertex face shows Canceling, then Canceled', async () => {
  const jobId = unique('vx').toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 40);
  // A one-task KFP pipeline whose container cleans up for 2 s on SIGTERM, so Canceling is visible.
  const spec = {
    pipelineInfo: { name: unique('vertex-e2e').toLowerCase() },
    schemaVersion: '2.1.0',
    sdkVersion: 'kfp-2.14.6',
    components: { 'comp-work': { executorLabel: 'exec-work' } },
    deploymentSpec: {
      executors: {
        'exec-work': {
          container: { image: 'alpine', command: ['sh', '-c', "trap 'sleep 2; exit 0' TERM; echo working; while true; do sleep 0.1; done"] },
        },
      },
    },
    root: { dag: { tasks: { work: { componentRef: { name: 'comp-work' }, taskInfo: { name: 'work' } } } } },
  };
  const parent = 'projects/my-proj/locations/us-central1';
  const created = await fetch(`${server.url}/v1/${parent}/pipelineJobs?pipelineJobId=${jobId}`, {
    method: 'POST',
    headers: { ...server.auth, 'Content-Type': 'application/json' },
    body: JSON.stringify({ displayName: 'vertex job', pipelineSpec: spec, runtimeConfig: { gcsOutputDirectory: 'gs://sluice-e2e/root' } }),
  });
  expect(created.status, await created.clone().text()).toBe(200);
  await server.waitForLog(jobId, 'work', 'working');
  await openRun(jobId);
  await markNoReload(page);
  await expect.poll(() => runState().getAttribute('data-state')).toBe('Running');

  await stopButton().click();
  const dialog = page.getByRole('dialog', { name: /Stop run/ });
  await dialog.waitFor();
  await dialog.getByRole('button', { name: 'Stop run' }).click();

  await expect.poll(() => runState().getAttribute('data-state'), { timeout: 5_000 }).toBe('Stopping');
  expect(await runState().textContent()).toContain('Canceling');
  await expect.poll(() => runState().getAttribute('data-state'), { timeout: 20_000 }).toBe('Stopped');
  expect(await runState().textContent()).toContain('Canceled');
  expect(await assertNotReloaded(page)).toBe(true);
  const job = await (await fetch(`${server.url}/v1/${parent}/pipelineJobs/${jobId}`, { headers: server.auth })).json();
  expect(job.state).toBe('PIPELINE_STATE_CANCELLED');
});

test('the DAG draws every step, coloured by state, and a step opens from the keyboard', async () => {
  const run = await server.startRun(graph);
  await openRun(run.id);
  const names = ['prepare', 'features-a', 'features-b', 'enough', 'train', 'too-small'];
  for (const n of names) await page.locator(`.dag-node[data-step="${n}"]`).waitFor();
  expect(await page.locator('.dag-node').count()).toBe(names.length);
  expect(await page.locator('.dag-edge').count()).toBeGreaterThanOrEqual(6);
  expect(await page.locator('.dag-edge-label').allTextContents()).toEqual(expect.arrayContaining(['then', 'else']));

  await expect.poll(() => runState().getAttribute('data-state'), { timeout: 20_000 }).toBe('Succeeded');
  await page.locator('.dag-node[data-step="train"][data-state="Succeeded"]').waitFor();
  await page.locator('.dag-node[data-step="too-small"][data-state="Skipped"]').waitFor();

  // keyboard: focus the node and press Enter
  await page.locator('.dag-node[data-step="prepare"]').focus();
  await page.keyboard.press('Enter');
  const panel = page.locator('[data-step-panel="prepare"]');
  await panel.waitFor();
  expect(await panel.textContent()).toContain('count');
  expect(await panel.locator('.kv').nth(1).textContent()).toContain('20');
  expect(page.url()).toContain('step=prepare');
});

test('a callback step is approved from the console and the run completes', async () => {
  const run = await server.startRun(approval);
  await server.waitForStep(run.id, 'approve', 'Running');
  await page.goto(`${server.url}/runs/${run.id}?step=approve`);
  const box = page.locator('.callback-box');
  await box.waitFor();
  const token = await box.getAttribute('data-callback-token');
  expect(token).toMatch(/^[A-Za-z0-9]{10}$/);
  await screenshot(page, 'run-details-callback');

  await box.getByRole('button', { name: 'Mark succeeded…' }).click();
  const dialog = page.getByRole('dialog', { name: /Mark step approve succeeded/ });
  await dialog.getByLabel(/verdict/).fill('ship');
  await dialog.getByLabel(/reviewer/).fill('ana');
  await dialog.getByRole('button', { name: 'Mark succeeded' }).click();

  await page.locator('.dag-node[data-step="approve"][data-state="Succeeded"]').waitFor();
  await expect.poll(() => runState().getAttribute('data-state'), { timeout: 20_000 }).toBe('Succeeded');
  await expect.poll(() => page.locator('.callback-box').count()).toBe(0);
  const done = await server.getRun(run.id);
  const deploy = done.steps.find((s) => s.name === 'deploy') as unknown as { outputs: Record<string, string> };
  expect(deploy.outputs.done).toBe('deploying ship');
});

test('a callback step is marked failed with a reason', async () => {
  const run = await server.startRun(approval);
  await server.waitForStep(run.id, 'approve', 'Running');
  await page.goto(`${server.url}/runs/${run.id}?step=approve`);
  await page.getByRole('button', { name: 'Mark failed…' }).click();
  const dialog = page.getByRole('dialog', { name: /Mark step approve failed/ });
  await dialog.getByLabel('Reason').fill('accuracy below target');
  await dialog.getByRole('button', { name: 'Mark failed' }).click();
  await expect.poll(() => runState().getAttribute('data-state'), { timeout: 20_000 }).toBe('Failed');
  await expect.poll(() => page.locator('.step-reason').textContent()).toContain('accuracy below target');
});

test('delete: offered only for a finished run; deleting returns to Runs', async () => {
  const running = await server.startRun(sleeper);
  await server.waitForState(running.id, 'Running');
  await openRun(running.id);
  expect(await deleteButton().isDisabled()).toBe(true);

  const ok = await server.startRun(quick);
  await server.waitForState(ok.id, 'Succeeded');
  await openRun(ok.id);
  await deleteButton().click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete run' }).click();
  await page.waitForURL(`${server.url}/`);
  await until('the run to be gone', async () => {
    const r = await fetch(`${server.url}/api/v1/runs/${ok.id}`, { headers: server.auth });
    return r.status === 404;
  });
  await server.api('POST', `/runs/${running.id}:stop`, { graceSeconds: 0 });
});

test('a running step shows its log live', async () => {
  const run = await server.startRun(chatty);
  await server.waitForStep(run.id, 'talk', 'Running');
  await page.goto(`${server.url}/runs/${run.id}?step=talk`);
  const log = page.locator('[data-log="talk:stdout"]');
  await expect.poll(() => log.textContent(), { timeout: 10_000 }).toContain('line-two');
  expect(await log.textContent()).toContain('line-one');
  await page.locator('.live-tag').waitFor();
  await server.api('POST', `/runs/${run.id}:stop`, { graceSeconds: 0 });
  await expect.poll(() => runState().getAttribute('data-state'), { timeout: 20_000 }).toBe('Stopped');
  await expect.poll(() => page.locator('.live-tag').count()).toBe(0);
});

test('keyboard: Stop opens a dialog that Escape closes; every control has a name', async () => {
  const run = await server.startRun(approval);
  await server.waitForStep(run.id, 'approve', 'Running');
  await page.goto(`${server.url}/runs/${run.id}?step=approve`);
  await page.locator('.callback-box').waitFor();
  await stopButton().focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: /Stop run/ });
  await dialog.waitFor();
  // focus moves into the dialog; Escape closes it and changes nothing
  expect(await page.evaluate(() => !!document.activeElement?.closest('dialog'))).toBe(true);
  await page.keyboard.press('Escape');
  await expect.poll(() => dialog.isVisible()).toBe(false);
  expect((await server.getRun(run.id)).state).toBe('Running');

  const unnamed = await page.evaluate(() => {
    const named = (el: Element) => {
      const e = el as HTMLElement & { labels?: NodeListOf<HTMLLabelElement> | null };
      if (e.getAttribute('aria-label') || e.getAttribute('aria-labelledby')) return true;
      if (e.labels && e.labels.length > 0 && [...e.labels].some((l) => l.textContent?.trim())) return true;
      return !!e.textContent?.trim() && !['INPUT', 'SELECT', 'TEXTAREA'].includes(e.tagName);
    };
    const visible = (el: Element) => !!(el as HTMLElement).offsetParent || el.closest('svg') !== null;
    return [...document.querySelectorAll('button, input, select, textarea, a[href], [role="button"]')]
      .filter((el) => visible(el) && !named(el))
      .map((el) => el.outerHTML.slice(0, 120));
  });
  expect(unnamed).toEqual([]);
});

test('an unknown run shows the API error', async () => {
  await page.goto(`${server.url}/runs/nosuchrun0000`);
  const alert = page.getByRole('alert');
  await alert.waitFor();
  expect(await alert.textContent()).toContain('NotFound (404)');
  expect(await alert.textContent()).toContain('nosuchrun0000');
});

test('screenshot: run details with a graph in mixed states', async () => {
  const run = await server.startRun(showcase, { displayName: 'nightly retrain #42', labels: { team: 'vision', stage: 'prod' } });
  await server.waitForStep(run.id, 'approve', 'Running');
  await page.goto(`${server.url}/runs/${run.id}?step=approve`);
  await page.locator('.callback-box').waitFor();
  await page.locator('.dag-node[data-step="too-weak"][data-state="Skipped"]').waitFor();
  await page.locator('.dag-node[data-step="deploy"][data-state="Pending"]').waitFor();
  await page.setViewportSize({ width: 1360, height: 1000 });
  await screenshot(page, 'run-details', { docs: true, fullPage: false });
  // narrow window: the page stacks and stays readable
  await page.setViewportSize({ width: 420, height: 900 });
  await screenshot(page, 'run-details-narrow');
});
