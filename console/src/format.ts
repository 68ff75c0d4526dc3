// Formatting of times, durations, labels and values. Pure functions, tested in test/format.test.ts.

/** A duration in the largest units that matter: 450 ms, 12.3 s, 3m 05s, 1h 02m, 2d 03h. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.floor(s)} s`;
  const total = Math.floor(s);
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  if (d > 0) return `${d}d ${two(h)}h`;
  if (h > 0) return `${h}h ${two(m)}m`;
  return `${m}m ${two(sec)}s`;
}

/** How long something took, or has been going on (until now) when it has not ended. */
export function elapsed(start: string | null | undefined, end: string | null | undefined, now: number): string {
  if (!start) return '—';
  const a = Date.parse(start);
  const b = end ? Date.parse(end) : now;
  return formatDuration(b - a);
}

// Making a formatter costs far more than using one (a page of a wide run formats thousands of times a second).
const dateFormats = new Map<string, Intl.DateTimeFormat>();
let relativeFormat: Intl.RelativeTimeFormat | null = null;

function dateFormat(timeZone: string | undefined): Intl.DateTimeFormat {
  const key = timeZone ?? '';
  let f = dateFormats.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
      hourCycle: 'h23', timeZone,
    });
    dateFormats.set(key, f);
  }
  return f;
}

/** A timestamp as local date and time, to the second (or with milliseconds for history entries). */
export function formatTime(iso: string | null | undefined, opts: { ms?: boolean; timeZone?: string } = {}): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const parts = dateFormat(opts.timeZone).formatToParts(d);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  const ms = opts.ms ? `.${String(d.getUTCMilliseconds()).padStart(3, '0')}` : '';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}:${get('second')}${ms}`;
}

/** "3 minutes ago", for a title next to an absolute time. */
export function relativeTime(iso: string | null | undefined, now: number): string {
  if (!iso) return '';
  const diff = (Date.parse(iso) - now) / 1000;
  const abs = Math.abs(diff);
  const rtf = (relativeFormat ??= new Intl.RelativeTimeFormat('en', { numeric: 'auto' }));
  if (abs < 45) return rtf.format(Math.round(diff), 'second');
  if (abs < 2700) return rtf.format(Math.round(diff / 60), 'minute');
  if (abs < 64800) return rtf.format(Math.round(diff / 3600), 'hour');
  return rtf.format(Math.round(diff / 86400), 'day');
}

/** Labels as the filter and the API write them: key=value. */
export function formatLabels(labels: Record<string, string>): string[] {
  return Object.entries(labels)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`);
}

/** Parses "team=red, stage=prod" (commas or new lines); returns the labels or the first problem. */
export function parseLabels(text: string): { labels: Record<string, string> } | { error: string } {
  const labels: Record<string, string> = {};
  for (const raw of text.split(/[\n,]/)) {
    const part = raw.trim();
    if (!part) continue;
    const i = part.indexOf('=');
    if (i <= 0) return { error: `"${part}" is not key=value` };
    const key = part.slice(0, i).trim();
    if (!key) return { error: `"${part}" has no key` };
    labels[key] = part.slice(i + 1).trim();
  }
  return { labels };
}

/** A value for a key/value table: strings as they are, everything else as compact JSON. */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

/** A run's name in lists: its display name, else its id. */
export function runTitle(run: { id: string; displayName: string | null }): string {
  return run.displayName?.trim() ? run.displayName : run.id;
}

/** Converts a parameter form's text to the typed value the API expects; undefined leaves the default. */
export function parseParameter(type: string, text: string): { value?: unknown } | { error: string } {
  const t = text.trim();
  if (t === '') return {};
  switch (type) {
    case 'Integer':
      return /^-?\d+$/.test(t) ? { value: Number(t) } : { error: 'must be a whole number' };
    case 'Float':
      return t !== '' && Number.isFinite(Number(t)) ? { value: Number(t) } : { error: 'must be a number' };
    case 'Boolean':
      return t === 'true' || t === 'false' ? { value: t === 'true' } : { error: 'must be true or false' };
    default:
      return { value: text };
  }
}

/** Appends streamed log text, keeping at most the last maxChars (starting at a line) so a huge log stays responsive. */
export function appendLog(current: string, chunk: string, maxChars = 1_000_000): { text: string; truncated: boolean } {
  const all = current + chunk;
  if (all.length <= maxChars) return { text: all, truncated: false };
  const cut = all.slice(all.length - maxChars);
  const nl = cut.indexOf('\n');
  return { text: nl >= 0 ? cut.slice(nl + 1) : cut, truncated: true };
}
