/** Settings: the bearer token (kept in localStorage 'udo.token') and the server's set-up. */
import { useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';

import { Dialog } from '@/components/dialog';
import { ErrorBox } from '@/components/error-box';
import { Facts } from '@/components/section';
import { formatNumber } from '@/lib/format';
import { getToken, setToken } from '@/lib/token';

import { useConfig } from '../api/get-config';
import { useHealth } from '../api/get-health';

export function SettingsButton() {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" className="btn btn-ghost" onClick={() => setOpen(true)}>
        Settings
        {getToken() ? <span className="token-dot" title="A bearer token is set" /> : null}
      </button>
      <SettingsDialog open={open} onClose={() => setOpen(false)} />
    </>
  );
}

export function SettingsDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  return (
    <Dialog open={open} onClose={onClose} title="Settings">
      {open ? <SettingsBody onClose={onClose} /> : null}
    </Dialog>
  );
}

function SettingsBody({ onClose }: { onClose: () => void }) {
  const queryClient = useQueryClient();
  const [token, setTokenText] = useState(getToken() ?? '');
  const [reveal, setReveal] = useState(false);
  const config = useConfig();
  const health = useHealth();
  const save = (value: string | null) => {
    setToken(value);
    void queryClient.invalidateQueries();
    onClose();
  };
  return (
    <div className="stack">
      <form
        className="stack"
        onSubmit={(e) => {
          e.preventDefault();
          save(token);
        }}
      >
        <label className="field">
          <span>Bearer token</span>
          <input
            type={reveal ? 'text' : 'password'}
            className="mono"
            autoComplete="off"
            value={token}
            placeholder="paste the API token"
            onChange={(e) => setTokenText(e.target.value)}
          />
          <small className="muted">
            Sent as <code>Authorization: Bearer …</code>; stored in this browser only (localStorage <code>udo.token</code>).
          </small>
        </label>
        <div className="form-actions">
          <label className="check">
            <input type="checkbox" checked={reveal} onChange={(e) => setReveal(e.target.checked)} /> show
          </label>
          <span className="spacer" />
          <button type="button" className="btn" onClick={() => save(null)}>
            Clear token
          </button>
          <button type="submit" className="btn btn-primary">
            Save
          </button>
        </div>
      </form>
      <h3 className="subhead">Server</h3>
      {config.isError ? <ErrorBox error={config.error} title="Could not read /api/config" /> : null}
      {config.data ? (
        <Facts
          items={[
            ['version', health.data?.version ?? '—'],
            ['cloud', config.data.cloud],
            ...Object.entries(config.data.adapters).map(([k, v]) => [k, <span className="mono">{v}</span>] as [string, React.ReactNode]),
            ['small path up to', `${formatNumber(config.data.routing.small_max_records)} records`],
            ['engines', Object.entries(config.data.engines).map(([k, v]) => `${k}: ${v}`).join(', ')],
            ['triggers', Object.entries(config.data.triggers).map(([k, v]) => `${k}: ${v}`).join(', ')],
          ]}
        />
      ) : null}
    </div>
  );
}
