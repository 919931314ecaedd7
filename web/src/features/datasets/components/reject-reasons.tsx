/** `_reject_reasons` of a quarantined row: the ids of every rule it broke, as chips. */
export function toReasons(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === 'string') {
    const text = value.trim();
    if (text.startsWith('[')) {
      try {
        const parsed: unknown = JSON.parse(text);
        if (Array.isArray(parsed)) return parsed.map(String);
      } catch {
        // not JSON: fall through to a separated list
      }
    }
    return text
      .replace(/^\[|\]$/g, '')
      .split(/[,;|]/)
      .map((s) => s.trim().replace(/^['"]|['"]$/g, ''))
      .filter(Boolean);
  }
  return value === null || value === undefined ? [] : [String(value)];
}

export function RejectReasons({ value }: { value: unknown }) {
  const reasons = toReasons(value);
  if (reasons.length === 0) return <span className="null">none</span>;
  return (
    <span className="chips">
      {reasons.map((r, i) => (
        <span key={`${r}-${i}`} className="chip chip-reason" title={r}>
          {r}
        </span>
      ))}
    </span>
  );
}
