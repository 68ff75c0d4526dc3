// Small shared pieces: state badges, error banners, dialogs, key/value tables.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { ApiError } from '../api';
import { formatValue } from '../format';
import { runStateLabel, stateSymbol, stateTone } from '../state';

export function StateBadge({ state, face, id }: { state: string; face?: string | null; id?: string }) {
  const label = runStateLabel(state, face);
  return (
    <span class={`badge tone-${stateTone(state)}`} data-state={state} id={id}>
      <span class="badge-symbol" aria-hidden="true">{stateSymbol(state)}</span>
      {label}
    </span>
  );
}

/** An API error in words: the title, the detail and each problem with its path. */
export function ErrorBanner({ error, onDismiss }: { error: unknown; onDismiss?: () => void }) {
  if (!error) return null;
  const e = error instanceof ApiError ? error : null;
  const title = e ? e.title : 'Something went wrong';
  const detail = e ? e.detail : error instanceof Error ? error.message : String(error);
  return (
    <div class="error-banner" role="alert">
      <div>
        <strong>{title}{e && e.status ? ` (${e.status})` : ''}</strong>
        {detail && <p>{detail}</p>}
        {e && e.problems.length > 0 && (
          <ul>
            {e.problems.map((p) => (
              <li key={p.path + p.message}>
                <code>{p.path}</code>{p.line ? ` (line ${p.line})` : ''}: {p.message}
              </li>
            ))}
          </ul>
        )}
      </div>
      {onDismiss && (
        <button type="button" class="btn ghost small" onClick={onDismiss} aria-label="Dismiss error">
          ✕
        </button>
      )}
    </div>
  );
}

/** A modal dialog (native <dialog>: focus stays inside, Escape closes). */
export function Dialog({
  open, title, onClose, children, labelledBy,
}: { open: boolean; title: string; onClose: () => void; children: ComponentChildren; labelledBy?: string }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  const headingId = labelledBy ?? `dlg-${title.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <dialog ref={ref} class="dialog" aria-labelledby={headingId} onClose={onClose} onCancel={onClose}>
      {open && (
        <>
          <h2 id={headingId}>{title}</h2>
          {children}
        </>
      )}
    </dialog>
  );
}

export function KeyValues({ values, empty = 'None', caption }: { values: Record<string, unknown> | null | undefined; empty?: string; caption?: string }) {
  const entries = Object.entries(values ?? {});
  if (entries.length === 0) return <p class="muted">{empty}</p>;
  return (
    <table class="kv">
      {caption && <caption class="sr-only">{caption}</caption>}
      <tbody>
        {entries.map(([k, v]) => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td><code>{formatValue(v)}</code></td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function LabelChips({ labels }: { labels: Record<string, string> }) {
  const entries = Object.entries(labels);
  if (entries.length === 0) return <span class="muted">—</span>;
  return (
    <span class="chips">
      {entries.map(([k, v]) => (
        <span class="chip" key={k}>
          {k}={v}
        </span>
      ))}
    </span>
  );
}

export function Spinner({ label = 'Loading' }: { label?: string }) {
  return (
    <span class="spinner" role="status">
      <span class="sr-only">{label}</span>
    </span>
  );
}
