// The native API (/api/v1): typed requests, and errors as the problem details the server sends.

export type RunState = 'Queued' | 'Running' | 'Stopping' | 'Stopped' | 'Succeeded' | 'Failed';
export type StepState =
  | 'Pending' | 'Starting' | 'Running' | 'Stopping' | 'Stopped' | 'Succeeded' | 'Failed' | 'Skipped' | 'NotStarted';

export interface StopInfo {
  at: string;
  reason: string | null;
  caller: string | null;
  graceSeconds: number | null;
}

export interface Step {
  name: string;
  kind: string;
  state: StepState;
  attempt: number;
  startedAt: string | null;
  endedAt: string | null;
  retryAt: string | null;
  reason: string | null;
  exitCode: number | null;
  inputs: Record<string, unknown> | null;
  outputs: Record<string, unknown> | null;
  pid: number | null;
  dependsOn?: string[] | null;
  guard?: { step: string; branch: boolean } | null;
  /** The group step it belongs to (a for-each for an iteration's step). */
  group?: string | null;
  /** For a step made for an iteration of a for-each: which one. */
  iteration?: { forEach: string; index: number } | null;
  declaredOutputs?: Record<string, string> | null;
  callback?: { token: string; answered: boolean } | null;
}

export interface Run {
  id: string;
  pipeline: string;
  pipelineVersion: number;
  state: RunState;
  displayName: string | null;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  updatedAt: string;
  parameters: Record<string, unknown>;
  labels: Record<string, string>;
  error: string | null;
  stop: StopInfo | null;
  face: string;
  location: string;
  steps?: Step[];
}

export interface RunEvent {
  seq: number;
  runId: string;
  step: string | null;
  kind: string;
  from: string | null;
  to: string | null;
  at: string;
  message: string | null;
  caller: string | null;
  data: Record<string, unknown> | null;
}

export interface Operation {
  id: string;
  kind: string;
  done: boolean;
  createdAt: string;
  updatedAt: string;
  request: { runIds?: string[] } & Record<string, unknown>;
  results: Record<string, { state?: string; note?: string; error?: { code: string; message: string } }>;
  partialFailures: number;
  error: string | null;
}

export interface Pipeline {
  id: string;
  name: string;
  description: string | null;
  latestVersion: number;
  createdAt: string;
  updatedAt: string;
}

export interface ParameterSpec {
  name: string;
  type: 'String' | 'Integer' | 'Float' | 'Boolean';
  default: unknown;
  description: string | null;
}

export interface PipelineStep {
  name: string;
  kind: string;
  dependsOn: string[];
  guard?: { step: string; branch: boolean } | null;
}

export interface PipelineDetail extends Pipeline {
  version: { version: number; format: string; createdAt: string; definition: string | null };
  parameters: ParameterSpec[];
  steps: PipelineStep[];
}

export interface Version {
  version: number;
  format: string;
  createdAt: string;
}

export interface Problem {
  path: string;
  message: string;
  line?: number | null;
  column?: number | null;
}

/** An answer other than 2xx: the problem details' title, detail and problems, or what the transport said. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly problems: Problem[] = [],
  ) {
    super(detail ? `${title}: ${detail}` : title);
  }
}

export interface RunQuery {
  pipeline?: string;
  states?: RunState[];
  labels?: Record<string, string>;
  pageSize?: number;
  pageToken?: string | null;
}

const base = '/api/v1';

async function request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  let res: Response;
  try {
    res = await fetch(base + path, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'Unavailable', 'the server cannot be reached; is it running?');
  }
  return answer<T>(res);
}

/** Said on the window when the server no longer accepts this browser's session (or never did): the console signs in again. */
export const unauthenticatedEvent = 'sluice:unauthenticated';

async function answer<T>(res: Response): Promise<T> {
  const text = await res.text();
  if (res.status === 401 && typeof window !== 'undefined') window.dispatchEvent(new Event(unauthenticatedEvent));
  if (!res.ok) throw toApiError(res.status, res.statusText, text);
  return (text ? JSON.parse(text) : {}) as T;
}

/** Reads a problem-details body; anything else becomes its HTTP status and text. */
export function toApiError(status: number, statusText: string, body: string): ApiError {
  try {
    const p = JSON.parse(body) as { title?: string; detail?: string; problems?: Problem[] };
    if (p && typeof p === 'object' && (p.title || p.detail)) {
      return new ApiError(status, p.title ?? statusText, p.detail ?? '', Array.isArray(p.problems) ? p.problems : []);
    }
  } catch {
    // not JSON: fall through
  }
  return new ApiError(status, statusText || `HTTP ${status}`, body.slice(0, 500));
}

export function runsQueryString(q: RunQuery): string {
  const p = new URLSearchParams();
  if (q.pipeline) p.set('pipeline', q.pipeline);
  if (q.states?.length) p.set('state', q.states.join(','));
  for (const [k, v] of Object.entries(q.labels ?? {})) p.append('label', `${k}=${v}`);
  if (q.pageSize) p.set('pageSize', String(q.pageSize));
  if (q.pageToken) p.set('pageToken', q.pageToken);
  const s = p.toString();
  return s ? `?${s}` : '';
}

const enc = encodeURIComponent;

/** Who the console acts as: the API token's name, tenant ("*": every tenant) and scope. */
export interface Session {
  name: string;
  tenant: string;
  scope: 'read' | 'run' | 'admin';
  devMode: boolean;
}

export const api = {
  /** The signed-in session; 401 when there is none. */
  getSession: (signal?: AbortSignal) => request<Session>('GET', '/session', undefined, signal),
  /** Exchanges an API token for the browser session's cookie (HttpOnly: no script can read it back). */
  signIn: (token: string) => request<Session>('POST', '/session', { token }),
  signOut: () => request<unknown>('DELETE', '/session'),
  listRuns: (q: RunQuery, signal?: AbortSignal) =>
    request<{ runs: Run[]; nextPageToken: string | null }>('GET', `/runs${runsQueryString(q)}`, undefined, signal),
  getRun: (id: string, signal?: AbortSignal) => request<Run>('GET', `/runs/${enc(id)}`, undefined, signal),
  runEvents: (id: string, signal?: AbortSignal) =>
    request<{ events: RunEvent[] }>('GET', `/runs/${enc(id)}/events`, undefined, signal),
  stopRun: (id: string, reason?: string) =>
    request<Run & { answeredState: RunState; replayed: boolean }>('POST', `/runs/${enc(id)}:stop`, reason ? { reason } : {}),
  stopRuns: (runIds: string[], reason?: string) =>
    request<Operation>('POST', '/runs:stop', reason ? { runIds, reason } : { runIds }),
  deleteRun: (id: string) => request<unknown>('DELETE', `/runs/${enc(id)}`),
  getOperation: (id: string, signal?: AbortSignal) => request<Operation>('GET', `/operations/${enc(id)}`, undefined, signal),
  startRun: (body: { pipeline: string; version?: number; parameters?: Record<string, unknown>; labels?: Record<string, string>; displayName?: string }) =>
    request<Run>('POST', '/runs', body),
  answerCallback: (token: string, success: boolean, body: { outputs?: Record<string, string>; reason?: string }) =>
    request<{ runId: string; state: RunState }>('POST', `/callbacks/${enc(token)}:${success ? 'succeed' : 'fail'}`, body),
  listPipelines: (pageToken?: string | null, signal?: AbortSignal) =>
    request<{ pipelines: Pipeline[]; nextPageToken: string | null }>(
      'GET', `/pipelines?pageSize=200${pageToken ? `&pageToken=${enc(pageToken)}` : ''}`, undefined, signal),
  getPipeline: (name: string, version?: number, signal?: AbortSignal) =>
    request<PipelineDetail>('GET', `/pipelines/${enc(name)}${version ? `?version=${version}` : ''}`, undefined, signal),
  /** The pipeline version a run froze, wherever it is kept (a Vertex or SageMaker run's is in its face's location). */
  runPipeline: (runId: string, signal?: AbortSignal) =>
    request<PipelineDetail>('GET', `/runs/${enc(runId)}/pipeline`, undefined, signal),
  listVersions: (name: string, signal?: AbortSignal) =>
    request<{ versions: Version[] }>('GET', `/pipelines/${enc(name)}/versions`, undefined, signal),
};

/** The URL of a step's log; with follow the server streams until the attempt ends. */
export function logUrl(runId: string, step: string, stream: 'stdout' | 'stderr', attempt: number, follow: boolean): string {
  const p = new URLSearchParams({ stream, attempt: String(attempt) });
  if (follow) p.set('follow', 'true');
  return `${base}/runs/${enc(runId)}/steps/${enc(step)}/logs?${p.toString()}`;
}

/** The event stream: every committed change (or one run's), live; after replays history first. */
export function eventsUrl(runId?: string, after?: number): string {
  const p = new URLSearchParams();
  if (runId) p.set('run', runId);
  if (after !== undefined && after >= 0) p.set('after', String(after));
  const s = p.toString();
  return `${base}/events${s ? `?${s}` : ''}`;
}
