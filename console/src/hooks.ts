import { useEffect, useRef, useState } from 'preact/hooks';
import { eventsUrl, type RunEvent } from './api';

export type LiveStatus = 'idle' | 'connecting' | 'live' | 'reconnecting';

const liveListeners = new Set<(s: LiveStatus) => void>();
let lastStatus: LiveStatus = 'idle';

function publishStatus(s: LiveStatus) {
  lastStatus = s;
  liveListeners.forEach((l) => l(s));
}

/** Whether the page's event stream is connected, for the header's indicator. */
export function useLiveStatus(): LiveStatus {
  const [s, set] = useState(lastStatus);
  useEffect(() => {
    liveListeners.add(set);
    return () => void liveListeners.delete(set);
  }, []);
  return s;
}

/** Subscribes to the server's event stream (one run's, or all) while mounted; the browser reconnects by itself and
 *  resumes after the last event it saw (Last-Event-ID). A null runId with enabled=false subscribes to nothing. */
export function useEvents(opts: { runId?: string; after?: number; enabled?: boolean }, onEvent: (e: RunEvent) => void): void {
  const handler = useRef(onEvent);
  handler.current = onEvent;
  const { runId, after, enabled = true } = opts;
  useEffect(() => {
    if (!enabled) return;
    const es = new EventSource(eventsUrl(runId, after));
    publishStatus('connecting');
    const onMessage = (m: MessageEvent<string>) => {
      try {
        handler.current(JSON.parse(m.data) as RunEvent);
      } catch {
        // a malformed event is skipped; the next refresh shows the truth
      }
    };
    const kinds = ['run-created', 'run-state', 'stop-requested', 'step-state', 'step-retry', 'message'];
    kinds.forEach((k) => es.addEventListener(k, onMessage as EventListener));
    es.onopen = () => publishStatus('live');
    es.onerror = () => publishStatus('reconnecting');
    return () => {
      kinds.forEach((k) => es.removeEventListener(k, onMessage as EventListener));
      es.close();
      publishStatus('idle');
    };
  }, [runId, after, enabled]);
}

/** The current time, updated every intervalMs while mounted (for running durations). */
export function useNow(intervalMs = 1000, enabled = true): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!enabled) return;
    const t = window.setInterval(() => setNow(Date.now()), intervalMs);
    return () => window.clearInterval(t);
  }, [intervalMs, enabled]);
  return now;
}

/** Refreshes with fn when asked, at most once per delay and never two at once; the delay grows with how long the last
 *  refresh took (factor times its duration, at least minDelay), so a big run's page does not keep the server busy.
 *  Asking while a refresh is in flight schedules one more after it. */
export function useAdaptiveRefresh(fn: () => Promise<void>, minDelay: number, factor = 8): () => void {
  const fnRef = useRef(fn);
  fnRef.current = fn;
  const st = useRef({ timer: null as number | null, running: false, again: false, took: 0, alive: true });
  useEffect(() => {
    const s = st.current;
    s.alive = true;
    return () => {
      s.alive = false;
      if (s.timer !== null) window.clearTimeout(s.timer);
      s.timer = null;
    };
  }, []);
  return useRef(function ask() {
    const s = st.current;
    if (!s.alive) return;
    if (s.running) {
      s.again = true;
      return;
    }
    if (s.timer !== null) return;
    s.timer = window.setTimeout(async () => {
      s.timer = null;
      s.running = true;
      const t0 = performance.now();
      try {
        await fnRef.current();
      } finally {
        s.took = performance.now() - t0;
        s.running = false;
        if (s.again) {
          s.again = false;
          ask();
        }
      }
    }, Math.max(minDelay, factor * s.took));
  }).current;
}

/** Collects items and hands them over together, at most once per delay ms: a burst of events is one update. */
export function useBatched<T>(onBatch: (items: T[]) => void, delay: number): (item: T) => void {
  const handler = useRef(onBatch);
  handler.current = onBatch;
  const st = useRef({ items: [] as T[], timer: null as number | null });
  useEffect(() => () => {
    if (st.current.timer !== null) window.clearTimeout(st.current.timer);
    st.current.timer = null;
    st.current.items = [];
  }, []);
  return useRef((item: T) => {
    const s = st.current;
    s.items.push(item);
    if (s.timer !== null) return;
    s.timer = window.setTimeout(() => {
      s.timer = null;
      const items = s.items;
      s.items = [];
      handler.current(items);
    }, delay);
  }).current;
}

/** Sets the document title while mounted. */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · Sluice` : 'Sluice';
  }, [title]);
}
