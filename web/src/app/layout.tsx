import { NavLink, Outlet } from 'react-router';

import { ToastProvider } from '@/components/toast';
import { useLiveQueues } from '@/features/queues/api/use-live-queues';
import { useLiveRuns } from '@/features/runs/api/use-live-runs';
import { ApiStatus } from '@/features/settings/components/api-status';
import { SettingsButton } from '@/features/settings/components/settings-dialog';

const NAV = [
  { to: '/generate', label: 'Generate' },
  { to: '/datasets', label: 'Datasets' },
  { to: '/runs', label: 'Runs' },
  { to: '/queues', label: 'Queues & triggers' },
];

/** Subscribes the whole app to run events (one EventSource), under the toasts. */
function LiveUpdates() {
  useLiveRuns();
  useLiveQueues();
  return null;
}

export function AppLayout() {
  return (
    <ToastProvider>
      <LiveUpdates />
      <div className="shell">
        <header className="topbar">
          <NavLink to="/" className="brand" aria-label="udo home">
            <svg viewBox="0 0 32 32" width="22" height="22" aria-hidden="true">
              <rect width="32" height="32" rx="6" fill="#c8d3e0" opacity="0.18" />
              <rect x="6" y="19" width="6" height="7" fill="#c2833a" />
              <rect x="13" y="13" width="6" height="13" fill="#c8ccd2" />
              <rect x="20" y="7" width="6" height="19" fill="#e3b341" />
            </svg>
            <span>udo</span>
          </NavLink>
          <nav className="nav" aria-label="Main">
            {NAV.map((n) => (
              <NavLink key={n.to} to={n.to} className={({ isActive }) => `nav-link${isActive ? ' is-active' : ''}`}>
                {n.label}
              </NavLink>
            ))}
          </nav>
          <span className="spacer" />
          <ApiStatus />
          <SettingsButton />
        </header>
        <main className="content">
          <Outlet />
        </main>
      </div>
    </ToastProvider>
  );
}
