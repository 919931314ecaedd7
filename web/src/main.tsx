import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

import { App } from '@/app';
import { loadEnv } from '@/lib/env';

import './styles.css';

const root = createRoot(document.getElementById('root') as HTMLElement);

try {
  loadEnv();
  root.render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
} catch (err) {
  root.render(
    <div className="fatal" role="alert">
      <h1>udo cannot start</h1>
      <p>{err instanceof Error ? err.message : String(err)}</p>
      <p>Fix the build environment (.env / VITE_* variables) and rebuild.</p>
    </div>,
  );
}
