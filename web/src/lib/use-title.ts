import { useEffect } from 'react';

/** The browser tab's title: "<page> · udo". */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · udo` : 'udo';
  }, [title]);
}
