// Sign-in: the server needs an API token (the local admin token of a default install, or one from the credentials file).
import { useState } from 'preact/hooks';
import { api, ApiError, type Session } from '../api';
import { ErrorBanner } from '../components/ui';

export function SignInPage({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await api.signIn(token.trim()));
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401
        ? new ApiError(401, 'Not signed in', 'That token is not valid on this server.')
        : err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="signin" aria-labelledby="signin-title">
      <h1 id="signin-title">Sign in</h1>
      <p class="muted">
        This server needs an API token. On the machine that runs it, the local admin token is in the data directory's{' '}
        <code>admin.token</code> (printed once when the server first started); others come from its credentials file.
      </p>
      <ErrorBanner error={error} />
      <form onSubmit={submit}>
        <label>
          API token
          <input type="password" name="token" autocomplete="current-password" required value={token}
            onInput={(e) => setToken((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit" class="btn primary" disabled={busy || token.trim() === ''}>Sign in</button>
      </form>
    </section>
  );
}
