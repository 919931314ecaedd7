/**
 * Toasts: short notices at the bottom right (role="status", so screen readers announce
 * them). `useToast().show({...})` from anywhere under <ToastProvider>.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';

export type ToastTone = 'success' | 'error' | 'info';

export type ToastInput = {
  title: string;
  body?: ReactNode;
  tone?: ToastTone;
  /** Milliseconds before it goes; 0 keeps it until closed. */
  duration?: number;
};

type ToastItem = ToastInput & { id: number };

type ToastApi = {
  show: (toast: ToastInput) => number;
  dismiss: (id: number) => void;
};

const ToastContext = createContext<ToastApi | null>(null);

export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<ToastItem[]>([]);
  const nextId = useRef(1);
  const dismiss = useCallback((id: number) => setToasts((ts) => ts.filter((t) => t.id !== id)), []);
  const show = useCallback((toast: ToastInput) => {
    const id = nextId.current++;
    setToasts((ts) => [...ts.slice(-4), { ...toast, id }]);
    return id;
  }, []);
  const api = useMemo(() => ({ show, dismiss }), [show, dismiss]);
  return (
    <ToastContext.Provider value={api}>
      {children}
      <div className="toasts" aria-live="polite">
        {toasts.map((t) => (
          <Toast key={t.id} toast={t} dismiss={dismiss} />
        ))}
      </div>
    </ToastContext.Provider>
  );
}

function Toast({ toast, dismiss }: { toast: ToastItem; dismiss: (id: number) => void }) {
  const duration = toast.duration ?? (toast.tone === 'error' ? 0 : 10_000);
  const { id } = toast;
  useEffect(() => {
    if (!duration) return;
    const timer = setTimeout(() => dismiss(id), duration);
    return () => clearTimeout(timer);
  }, [duration, dismiss, id]);
  const onClose = () => dismiss(id);
  return (
    <div className={`toast toast-${toast.tone ?? 'info'}`} role="status" data-testid="toast">
      <div className="toast-text">
        <div className="toast-title">{toast.title}</div>
        {toast.body ? <div className="toast-body">{toast.body}</div> : null}
      </div>
      <button type="button" className="toast-close" onClick={onClose} aria-label="Dismiss">
        ×
      </button>
    </div>
  );
}

export function useToast(): ToastApi {
  const api = useContext(ToastContext);
  if (!api) throw new Error('useToast must be used under <ToastProvider>');
  return api;
}
