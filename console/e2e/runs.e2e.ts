// The Runs page and the Pipelines pages in real Chromium against a real server: live table, filters, paging, batch
// stop and batch delete, starting a run from the parameter form.
import type { Browser, Page } from 'playwright-core';
import { beforeAll, expect, test } from 'vitest';
import { assertNotReloaded, browserSuite, markNoReload, screenshot, type SluiceServer, unique, until } from './harness';

let server: SluiceServer;
let browser: Browser;
let page: Page;

const sleeper = unique('sleeper');
const quick = unique('quick');
const instant = unique('instant');
const train = unique('train');
const slowStop = unique('slowstop');

browserSuite(['--slots', '16'], {
  server: (s) => (server = s),
  browser: (b) => (browser = b),
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
name: ${quick}
steps:
  - name: ok
    command: sh
    args: ["-c", "sleep 0.5"]
`);
  // SIGTERM starts a 3 s clean-up, so a stop visibly takes a while
  await server.createPipeline(`
name: ${slowStop}
steps:
  - name: work
    command: sh
    args: ["-c", "trap 'sleep 3; exit 0' TERM; echo working; while true; do sleep 0.1; done"]
`);
  // fails at once without starting a process: cheap runs for paging
  await server.createPipeline(`
name: ${instant}
steps:
  - name: stop-here
    type: fail
    message: nothing to do
`);
  await server.createPipeline(`
name: ${train}
description: Prepares data and trains a model.
parameters:
  dataset: { type: String, description: which dataset to read }
  epochs: { type: Integer, default: 3 }
  rate: { type: Float, default: 0.01 }
  shuffle: { type: Boolean, default: true }
steps:
  - name: prep
    command: sh
    args: ["-c", "echo {{params.dataset}} > $SLUICE_OUTPUTS/name"]
    outputs: { name: String }
  - name: fit
    command: sh
    args: ["-c", "echo epochs={{params.epochs}} rate={{params.rate}}"]
    dependsOn: [prep]
`);
});

const row = (id: string) => page.locator(`tr[data-run="${id}"]`);
const rowState = (id: string) => row(id).locator('.badge').getAttribute('data-state');

test('the table shows new runs and their state changes live, newest first, without a reload', async () => {
  const older = await server.startRun(quick);
  await page.goto(`${server.url}/?pipeline=${quick}`);
  await row(older.id).waitFor();
  await markNoReload(page);

  const newer = await server.startRun(quick, { labels: { team: 'red' }, displayName: 'fresh run' });
  await row(newer.id).waitFor({ timeout: 10_000 });
  const ids = await page.locator('tbody tr').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-run')));
  expect(ids.indexOf(newer.id)).toBeLessThan(ids.indexOf(older.id));
  expect(await row(newer.id).textContent()).toContain('fresh run');
  expect(await row(newer.id).textContent()).toContain('team=red');
  await expect.poll(() => rowState(newer.id), { timeout: 15_000 }).toBe('Succeeded');
  expect(await assertNotReloaded(page)).toBe(true);

  // the run's name opens its details page
  await row(newer.id).getByRole('link', { name: 'fresh run' }).click();
  await page.waitForURL(`${server.url}/runs/${newer.id}`);
  await page.locator('#run-heading').waitFor();
});

test('filters by pipeline, state and label', async () => {
  const red = await server.startRun(sleeper, { labels: { team: 'red' } });
  const blue = await server.startRun(sleeper, { labels: { team: 'blue' } });
  const done = await server.startRun(instant, { labels: { team: 'red' } });
  await server.waitForState(done.id, 'Failed');
  await server.waitForState(red.id, 'Running');
  await server.waitForState(blue.id, 'Running');

  await page.goto(`${server.url}/`);
  await page.locator('tbody tr').first().waitFor();
  await page.getByLabel('Pipeline').selectOption(sleeper);
  await expect.poll(() => row(done.id).count()).toBe(0);
  await row(red.id).waitFor();
  await row(blue.id).waitFor();
  expect(page.url()).toContain(`pipeline=${sleeper}`);

  await page.getByLabel('Labels').fill('team=red');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect.poll(() => row(blue.id).count()).toBe(0);
  await row(red.id).waitFor();
  expect(page.url()).toContain('label=team%3Dred');

  await page.getByRole('button', { name: 'Clear filters' }).click();
  await page.getByLabel('State').selectOption('Failed');
  await row(done.id).waitFor();
  await expect.poll(() => row(red.id).count()).toBe(0);

  // a label filter that is not key=value is refused before any request
  await page.getByLabel('Labels').fill('oops');
  await page.getByRole('button', { name: 'Apply' }).click();
  expect(await page.locator('#label-error').textContent()).toContain('not key=value');
  await server.api('POST', '/runs:stop', { runIds: [red.id, blue.id], graceSeconds: 0 });
});

test('batch stop: one operation for the selected runs, a confirmation naming how many, progress until done', async () => {
  const runs = await Promise.all([1, 2, 3].map(() => server.startRun(slowStop, { labels: { batch: 'yes' } })));
  const finished = await server.startRun(instant, { labels: { batch: 'yes' } });
  await server.waitForState(finished.id, 'Failed');
  // Running can be recorded before the shell has set its trap: its first line says it has.
  for (const r of runs) await server.waitForLog(r.id, 'work', 'working');

  await page.goto(`${server.url}/?label=batch%3Dyes`);
  for (const r of [...runs, finished]) await row(r.id).waitFor();
  await markNoReload(page);
  await page.getByLabel('Select all runs on this page').check();
  expect(await page.locator('.toolbar').textContent()).toContain('4 selected');

  await page.getByRole('button', { name: /^Stop selected/ }).click();
  const dialog = page.getByRole('dialog', { name: 'Stop 3 runs?' });
  await dialog.waitFor();
  expect(await dialog.textContent()).toContain('1 selected run not queued or running is left alone');
  await dialog.getByLabel('Reason (optional)').fill('cluster maintenance');
  await dialog.getByRole('button', { name: 'Stop 3 runs' }).click();

  // while the processes clean up: the runs show Stopping and a progress bar counts the finished ones
  const status = page.locator('.batch-status[data-batch="stop"]');
  await status.locator('progress').waitFor();
  expect(await status.textContent()).toMatch(/Stopping 3 runs… [0-2] of 3 finished/);
  for (const r of runs) await expect.poll(() => rowState(r.id), { timeout: 10_000 }).toBe('Stopping');
  expect(await page.getByRole('button', { name: /^Stop selected/ }).isDisabled()).toBe(true);
  await expect.poll(() => status.textContent(), { timeout: 20_000 }).toContain('Stopped 3 runs.');
  for (const r of runs) await expect.poll(() => rowState(r.id), { timeout: 10_000 }).toBe('Stopped');
  expect(await rowState(finished.id)).toBe('Failed');
  expect(await assertNotReloaded(page)).toBe(true);
  await screenshot(page, 'runs-after-batch-stop');

  const ops = await server.api<{ operations: { kind: string; request: { runIds: string[]; reason: string } }[] }>('GET', '/operations');
  const op = ops.operations.find((o) => o.request.runIds?.length === 3 && runs.every((r) => o.request.runIds.includes(r.id)));
  expect(op?.request.reason).toBe('cluster maintenance');
  const one = await server.api<{ stop: { reason: string } }>('GET', `/runs/${runs[0]!.id}`);
  expect(one.stop.reason).toBe('cluster maintenance');
});

test('delete selected removes only finished runs', async () => {
  const a = await server.startRun(instant, { labels: { del: 'yes' } });
  const b = await server.startRun(instant, { labels: { del: 'yes' } });
  const active = await server.startRun(sleeper, { labels: { del: 'yes' } });
  await server.waitForState(a.id, 'Failed');
  await server.waitForState(b.id, 'Failed');
  await server.waitForState(active.id, 'Running');

  await page.goto(`${server.url}/?label=del%3Dyes`);
  for (const r of [a, b, active]) await row(r.id).waitFor();
  // only the active run selected: nothing to delete
  await row(active.id).getByRole('checkbox').check();
  expect(await page.getByRole('button', { name: /^Delete selected/ }).isDisabled()).toBe(true);
  await page.getByLabel('Select all runs on this page').check();
  await page.getByRole('button', { name: /^Delete selected/ }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete 2 runs?' });
  await dialog.waitFor();
  expect(await dialog.textContent()).toContain('1 selected run still active is not deleted');
  await dialog.getByRole('button', { name: 'Delete 2 runs' }).click();
  await expect.poll(() => page.locator('.batch-status[data-batch="delete"]').textContent(), { timeout: 10_000 }).toContain('Deleted 2 runs.');
  await expect.poll(() => row(a.id).count()).toBe(0);
  await expect.poll(() => row(b.id).count()).toBe(0);
  expect(await row(active.id).count()).toBe(1);
  for (const r of [a, b]) expect((await fetch(`${server.url}/api/v1/runs/${r.id}`, { headers: server.auth })).status).toBe(404);
  expect((await server.getRun(active.id)).state).toBe('Running');
  await server.api('POST', `/runs/${active.id}:stop`, { graceSeconds: 0 });
});

test('pages through many runs', async () => {
  const label = unique('page');
  const created: string[] = [];
  for (let i = 0; i < 56; i++) created.push((await server.startRun(instant, { labels: { page: label } })).id);
  await until('the runs to fail', async () => {
    const r = await server.api<{ runs: unknown[] }>('GET', `/runs?label=page=${label}&state=Failed&pageSize=100`);
    return r.runs.length === 56;
  });
  await page.goto(`${server.url}/?label=page%3D${label}`);
  await page.locator('tbody tr').first().waitFor();
  expect(await page.locator('tbody tr').count()).toBe(50);
  expect(await page.locator('tbody tr').first().getAttribute('data-run')).toBe(created[55]);
  await page.getByRole('button', { name: 'Older →' }).click();
  await expect.poll(() => page.locator('tbody tr').count()).toBe(6);
  expect(await page.locator('tbody tr').last().getAttribute('data-run')).toBe(created[0]);
  expect(await page.getByRole('button', { name: 'Older →' }).isDisabled()).toBe(true);
  await page.getByRole('button', { name: '← Newer' }).click();
  await expect.poll(() => page.locator('tbody tr').count()).toBe(50);
});

test('pipelines: list, definition, and a run started from the parameter form', async () => {
  await page.goto(`${server.url}/pipelines`);
  await page.getByRole('link', { name: train }).click();
  await page.waitForURL(`${server.url}/pipelines/${train}`);
  await page.locator('.dag-node[data-step="fit"]').waitFor();
  expect(await page.locator('.definition').textContent()).toContain('Prepares data and trains a model.');
  await screenshot(page, 'pipeline');

  // the required parameter is checked before sending
  await page.getByRole('button', { name: 'Start run' }).click();
  expect(await page.locator('.field-error').first().textContent()).toContain('dataset is required');
  await page.getByLabel(/^dataset/).fill('imagenet-mini');
  await page.getByLabel(/^epochs/).fill('seven');
  await page.getByRole('button', { name: 'Start run' }).click();
  expect(await page.locator('.field-error').first().textContent()).toContain('epochs must be a whole number');
  await page.getByLabel(/^epochs/).fill('7');
  await page.getByLabel(/^Labels/).fill('team=vision');
  await page.getByRole('button', { name: 'Start run' }).click();
  await page.waitForURL(/\/runs\/[a-z0-9-]+$/);
  const id = page.url().split('/').pop()!;
  await expect.poll(() => page.locator('#run-state').getAttribute('data-state'), { timeout: 20_000 }).toBe('Succeeded');
  const run = await server.api<{ parameters: Record<string, unknown>; labels: Record<string, string> }>('GET', `/runs/${id}`);
  expect(run.parameters).toMatchObject({ dataset: 'imagenet-mini', epochs: 7, rate: 0.01, shuffle: true });
  expect(run.labels).toEqual({ team: 'vision' });
  await page.goto(`${server.url}/runs/${id}?step=fit`);
  await expect.poll(() => page.locator('[data-log="fit:stdout"]').textContent(), { timeout: 10_000 }).toContain('epochs=7 rate=0.01');
});

test('an API error is shown with its problems', async () => {
  await page.goto(`${server.url}/pipelines/${train}`);
  await page.getByLabel(/^dataset/).fill('x');
  // a label key the server refuses: the problem comes back from the API and is shown as is
  await page.getByLabel(/^Labels/).fill(`${'k'.repeat(80)}=v`);
  await page.getByRole('button', { name: 'Start run' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  expect(await alert.textContent()).toContain('InvalidArgument (400)');
});

test('screenshots: the runs page, wide and narrow', async () => {
  await page.goto(`${server.url}/`);
  await page.locator('tbody tr').first().waitFor();
  await screenshot(page, 'runs', { fullPage: false });
  await page.setViewportSize({ width: 420, height: 900 });
  await screenshot(page, 'runs-narrow', { fullPage: false });
  await page.goto(`${server.url}/pipelines`);
  await page.locator('tbody tr').first().waitFor();
  await screenshot(page, 'pipelines');
});

test('signing in with the local admin token opens the console; a wrong token is refused; signing out asks again', async () => {
  const fresh = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  try {
    const p = await fresh.newPage();
    const run = await server.startRun(quick);
    await p.goto(`${server.url}/runs/${run.id}`);
    await p.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await p.locator('#run-heading').count()).toBe(0);

    await p.getByLabel('API token').fill('slu_not-the-token-of-this-server');
    await p.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => p.getByRole('alert').textContent()).toContain('not valid');

    await p.getByLabel('API token').fill(server.token);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.locator('#run-heading').waitFor();
    expect(await p.locator('.who').textContent()).toContain('local-admin');
    await expect.poll(() => p.locator('.live').textContent()).toContain('Live');
    // the session cookie is HttpOnly: no script of the page can read the token
    expect(await p.evaluate(() => document.cookie)).not.toContain(server.token);
    await screenshot(p, 'signed-in');

    await p.getByRole('button', { name: 'Sign out' }).click();
    await p.getByRole('heading', { name: 'Sign in' }).waitFor();
    await p.reload();
    await p.getByRole('heading', { name: 'Sign in' }).waitFor();
  } finally {
    await fresh.close();
  }
  // the token was printed once, when the server created it, and never logged again
  expect(server.log.split(server.token).length - 1).toBe(1);
});
