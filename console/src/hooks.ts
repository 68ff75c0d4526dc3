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

/** Calls fn at most once per delay ms, trailing: bursts of events cause one refresh. */
export function useCoalesced(fn: () => void, delay: number): () => void {
  const fnRef = useRef(fn);
  fnRef.current = fn;
  const timer = useRef<number | null>(null);
  useEffect(() => () => {
    if (timer.current !== null) window.clearTimeout(timer.current);
  }, []);
  return useRef(() => {
    if (timer.current !== null) return;
    timer.current = window.setTimeout(() => {
      timer.current = null;
      fnRef.current();
    }, delay);
  }).current;
}

/** Sets the document title while mounted. */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · Sluice` : 'Sluice';
  }, [title]);
}
