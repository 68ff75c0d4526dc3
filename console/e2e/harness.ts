// End-to-end harness: a real sluice-server process (free port, temp data dir) serving the freshly built console, and
// Debian's Chromium driven by playwright-core.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../..');
export const artifactsDir = resolve(here, 'artifacts');
const consoleDir = resolve(repoRoot, 'src/Sluice.Server/wwwroot');
const serverDll = process.env.SLUICE_SERVER_DLL ?? resolve(repoRoot, 'src/Sluice.Server/bin/Release/net10.0/sluice-server.dll');

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => ok(port));
    });
  });
}

/** Polls until check() is truthy or the deadline passes (no fixed sleeps: each poll is a real request). */
export async function until<T>(what: string, check: () => Promise<T | undefined | null | false>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export class SluiceServer {
  private proc: ChildProcess | null = null;
  private output = '';
  readonly dataDir: string;
  /** The local admin token the server created on first start (authentication is on, as by default). */
  token = '';

  private constructor(readonly port: number) {
    this.dataDir = mkdtempSync(join(tmpdir(), 'sluice-e2e-'));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(extraArgs: string[] = []): Promise<SluiceServer> {
    if (!existsSync(serverDll)) {
      throw new Error(`${serverDll} is missing: build the server first (./build.sh test does)`);
    }
    if (!existsSync(join(consoleDir, 'index.html'))) {
      throw new Error(`${consoleDir}/index.html is missing: run npm run build in console/ first`);
    }
    const s = new SluiceServer(await freePort());
    s.proc = spawn('dotnet', [serverDll, '--urls', s.url, '--data-dir', s.dataDir, '--console-dir', consoleDir, ...extraArgs], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    s.proc.stdout!.on('data', (d) => (s.output += String(d)));
    s.proc.stderr!.on('data', (d) => (s.output += String(d)));
    await until('the server to answer /healthz', async () => {
      if (s.proc!.exitCode !== null) throw new Error(`sluice-server exited with ${s.proc!.exitCode}:\n${s.output}`);
      const r = await fetch(`${s.url}/healthz`);
      return r.ok;
    }, 60_000);
    const tokenFile = join(s.dataDir, 'admin.token');
    if (existsSync(tokenFile)) s.token = readFileSync(tokenFile, 'utf8').trim();
    return s;
  }

  /** The Authorization header of the admin token, for requests made outside api(). */
  get auth(): Record<string, string> {
    return this.token ? { Authorization: `Bearer ${this.token}` } : {};
  }

  /** What the server printed so far. */
  get log(): string {
    return this.output;
  }

  /** Signs a browser context in as the sign-in page does: the session cookie the server sets for the token. */
  async signIn(context: BrowserContext): Promise<void> {
    const r = await fetch(`${this.url}/api/v1/session`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token: this.token }),
    });
    if (!r.ok) throw new Error(`sign-in: ${r.status} ${await r.text()}`);
    const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0]!;
    const eq = cookie.indexOf('=');
    await context.addCookies([{ name: cookie.slice(0, eq), value: cookie.slice(eq + 1), url: this.url, httpOnly: true, sameSite: 'Strict' }]);
  }

  /** Stops every run first: a step process outlives its server by design (it is re-adopted on the next start), and a
   *  test must not leave processes behind. */
  async stop(): Promise<void> {
    const p = this.proc;
    if (p && p.exitCode === null) {
      try {
        await this.api('POST', '/runs:stop', { filter: { states: ['Queued', 'Running'] }, graceSeconds: 0 });
        await until('every step process to end', async () => {
          const r = await this.api<{ runs: { id: string }[] }>('GET', '/runs?state=Queued,Running,Stopping&pageSize=1000');
          for (const run of r.runs) {
            const d = await this.api<{ steps: { kind: string; state: string }[] }>('GET', `/runs/${run.id}`);
            if (d.steps.some((s) => s.kind === 'process' && ['Starting', 'Running', 'Stopping'].includes(s.state))) return false;
          }
          return true;
        }, 15_000);
      } catch (e) {
        console.error(`could not stop the runs before shutting the server down: ${String(e)}`);
      }
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      const timer = setTimeout(() => p.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  async api<T = any>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const auth: Record<string, string> = this.token ? { Authorization: `Bearer ${this.token}` } : {};
    const r = await fetch(`${this.url}/api/v1${path}`, {
      method,
      headers: body === undefined ? auth : { ...auth, 'Content-Type': contentType },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return (text ? JSON.parse(text) : {}) as T;
  }

  createPipeline(yaml: string) {
    return this.api('POST', '/pipelines', yaml, 'application/yaml');
  }

  startRun(pipeline: string, extra: Record<string, unknown> = {}) {
    return this.api<{ id: string; state: string }>('POST', '/runs', { pipeline, ...extra });
  }

  getRun(id: string) {
    return this.api<{ id: string; state: string; steps: { name: string; state: string; callback?: { token: string } }[] }>('GET', `/runs/${id}`);
  }

  waitForState(id: string, states: string | string[], timeoutMs = 20_000) {
    const want = Array.isArray(states) ? states : [states];
    return until(`run ${id} to be ${want.join(' or ')}`, async () => {
      const r = await this.getRun(id);
      return want.includes(r.state) ? r : null;
    }, timeoutMs);
  }

  /** Waits until a step's stdout holds `text`: how a test knows a shell step has reached a line (e.g. its trap is set). */
  waitForLog(id: string, step: string, text: string, timeoutMs = 20_000) {
    const auth: Record<string, string> = this.token ? { Authorization: `Bearer ${this.token}` } : {};
    return until(`the log of step ${step} of run ${id} to say ${JSON.stringify(text)}`, async () => {
      const r = await fetch(`${this.url}/api/v1/runs/${id}/steps/${step}/logs`, { headers: auth });
      return r.ok && (await r.text()).includes(text);
    }, timeoutMs);
  }

  waitForStep(id: string, step: string, state: string, timeoutMs = 20_000) {
    return until(`step ${step} of run ${id} to be ${state}`, async () => {
      const r = await this.getRun(id);
      const s = r.steps.find((x) => x.name === step);
      return s && s.state === state ? s : null;
    }, timeoutMs);
  }
}

/** Debian's Chromium, headless, with nothing that reaches the network. */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
    ],
  });
}

/** Keeps a screenshot as a test artifact (console/e2e/artifacts); also in docs/images when asked to. */
export async function screenshot(page: Page, name: string, opts: { docs?: boolean; fullPage?: boolean } = {}): Promise<void> {
  mkdirSync(artifactsDir, { recursive: true });
  await page.screenshot({ path: join(artifactsDir, `${name}.png`), fullPage: opts.fullPage ?? true });
  if (opts.docs && process.env.SLUICE_DOCS_SCREENSHOTS === '1') {
    const dir = join(repoRoot, 'docs/images');
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: join(dir, `${name}.png`), fullPage: opts.fullPage ?? false });
  }
}

/** Marks the page so a test can tell it was never reloaded: a reload loses the mark. */
export async function markNoReload(page: Page): Promise<void> {
  await page.evaluate(() => ((window as unknown as { __sluiceMark: number }).__sluiceMark = 42));
}

export async function assertNotReloaded(page: Page): Promise<boolean> {
  return page.evaluate(() => (window as unknown as { __sluiceMark?: number }).__sluiceMark === 42);
}

export function unique(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A test file's server and browser (started once) and each test's own signed-in page (a fresh context per test). */
export interface BrowserSuite {
  readonly server: SluiceServer;
  readonly browser: Browser;
  readonly context: BrowserContext;
  readonly page: Page;
}

/** Told each object as the suite makes it, for a file that keeps them in variables of its own. */
export interface SuiteBindings {
  server?(server: SluiceServer): void;
  browser?(browser: Browser): void;
  context?(context: BrowserContext): void;
  page?(page: Page): void;
}

/** Registers the hooks of a file of browser tests against one server started with serverArgs. The file's own beforeAll
 * hooks, registered after this call, run once the server and the browser are up. */
export function browserSuite(serverArgs: string[], bind: SuiteBindings = {}): BrowserSuite {
  let server: SluiceServer | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let page: Page | undefined;
  beforeAll(async () => {
    [server, browser] = await Promise.all([SluiceServer.start(serverArgs), launchBrowser()]);
    bind.server?.(server);
    bind.browser?.(browser);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });
  beforeEach(async () => {
    context = await browser!.newContext({ viewport: { width: 1360, height: 900 } });
    await server!.signIn(context);
    page = await context.newPage();
    bind.context?.(context);
    bind.page?.(page);
  });
  afterEach(async () => {
    await context?.close();
  });
  return {
    get server() {
      return server!;
    },
    get browser() {
      return browser!;
    },
    get context() {
      return context!;
    },
    get page() {
      return page!;
    },
  };
}
