/**
 * The YAML spec editor: a textarea with line numbers. Validation errors mark their line
 * (gutter and a band behind the text) and are listed as `loc: message`; clicking one
 * puts the cursor on its line.
 */
import { useMemo, useRef } from 'react';

import type { ErrorDetail } from '@/lib/api-client';

const LINE_HEIGHT = 20; // px, as in .code-editor in the stylesheet
const PADDING_TOP = 8;

type Props = {
  value: string;
  onChange: (value: string) => void;
  errors?: ErrorDetail[];
  label?: string;
  disabled?: boolean;
};

export function SpecEditor({ value, onChange, errors = [], label = 'Spec (YAML)', disabled }: Props) {
  const textarea = useRef<HTMLTextAreaElement>(null);
  const gutter = useRef<HTMLDivElement>(null);
  const bands = useRef<HTMLDivElement>(null);
  const lineCount = useMemo(() => value.split('\n').length, [value]);
  const byLine = useMemo(() => {
    const map = new Map<number, string[]>();
    for (const e of errors) {
      if (e.line) map.set(e.line, [...(map.get(e.line) ?? []), `${e.loc}: ${e.message}`]);
    }
    return map;
  }, [errors]);

  const syncScroll = () => {
    const ta = textarea.current;
    if (!ta) return;
    if (gutter.current) gutter.current.scrollTop = ta.scrollTop;
    if (bands.current) bands.current.style.transform = `translate(${-ta.scrollLeft}px, ${-ta.scrollTop}px)`;
  };

  const goToLine = (line: number) => {
    const ta = textarea.current;
    if (!ta) return;
    const lines = value.split('\n');
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    const end = start + (lines[line - 1]?.length ?? 0);
    ta.focus();
    ta.setSelectionRange(start, end);
    ta.scrollTop = Math.max(0, (line - 1) * LINE_HEIGHT - ta.clientHeight / 3);
    syncScroll();
  };

  return (
    <div className="spec-editor">
      <div className={`code-editor${byLine.size ? ' has-errors' : ''}`}>
        <div className="code-gutter" ref={gutter} aria-hidden="true">
          {Array.from({ length: lineCount }, (_, i) => {
            const line = i + 1;
            const messages = byLine.get(line);
            return (
              <div
                key={line}
                className={messages ? 'ln ln-error' : 'ln'}
                data-line={line}
                data-error={messages ? 'true' : undefined}
                title={messages?.join('\n')}
              >
                {line}
              </div>
            );
          })}
        </div>
        <div className="code-area">
          <div className="code-bands" ref={bands} aria-hidden="true">
            {[...byLine.keys()].map((line) => (
              <div key={line} className="code-band" style={{ top: PADDING_TOP + (line - 1) * LINE_HEIGHT }} />
            ))}
          </div>
          <textarea
            ref={textarea}
            aria-label={label}
            className="code-input"
            value={value}
            spellCheck={false}
            autoCapitalize="off"
            autoComplete="off"
            wrap="off"
            disabled={disabled}
            onChange={(e) => onChange(e.target.value)}
            onScroll={syncScroll}
            onKeyDown={(e) => {
              if (e.key === 'Tab' && !e.shiftKey) {
                // two spaces, as YAML wants (no tab characters)
                e.preventDefault();
                const ta = e.currentTarget;
                const { selectionStart: s, selectionEnd: t } = ta;
                onChange(`${value.slice(0, s)}  ${value.slice(t)}`);
                requestAnimationFrame(() => ta.setSelectionRange(s + 2, s + 2));
              }
            }}
          />
        </div>
      </div>
      {errors.length > 0 ? (
        <ul className="spec-errors" aria-label="Spec errors">
          <li className="spec-errors-head">
            ✗ {errors.length} problem{errors.length === 1 ? '' : 's'} in the spec
            {errors.some((e) => e.line) ? <span className="muted"> — click a line to go there</span> : null}
          </li>
          {errors.map((e, i) => (
            <li key={i}>
              {e.line ? (
                <button type="button" className="line-ref" onClick={() => goToLine(e.line as number)}>
                  line {e.line}
                </button>
              ) : (
                <span className="line-ref line-ref-none">no line</span>
              )}
              <span className="spec-error-text">
                <code>{e.loc || '(spec)'}</code>: {e.message}
              </span>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
