import { ApiError } from '@/lib/api-client';

type Props = {
  error: unknown;
  title?: string;
  onRetry?: () => void;
};

/** An error from the API (or anything thrown), with its details and a hint for 401. */
export function ErrorBox({ error, title, onRetry }: Props) {
  if (!error) return null;
  const api = error instanceof ApiError ? error : null;
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div className="error-box" role="alert">
      <div className="error-box-head">
        <strong>{title ?? 'Something went wrong'}</strong>
        {api ? (
          <code className="error-code">
            {api.status ? `${api.status} ` : ''}
            {api.code}
          </code>
        ) : null}
      </div>
      <p className="error-message">{message}</p>
      {api && api.details.length > 0 ? (
        <ul className="error-details">
          {api.details.map((d, i) => (
            <li key={i}>
              {d.loc ? <code>{d.loc}</code> : null}
              {d.loc ? ': ' : ''}
              {d.message}
              {d.line ? <span className="muted"> (line {d.line})</span> : null}
            </li>
          ))}
        </ul>
      ) : null}
      {api?.status === 401 ? (
        <p className="hint">The API wants a bearer token: paste one in Settings (top right).</p>
      ) : null}
      {onRetry ? (
        <button type="button" className="btn btn-small" onClick={onRetry}>
          Retry
        </button>
      ) : null}
    </div>
  );
}
