/** Accessible tabs (role="tablist"); the caller renders the selected panel. */
export type TabItem = { id: string; label: React.ReactNode };

type Props = {
  tabs: TabItem[];
  selected: string;
  onSelect: (id: string) => void;
  label: string;
};

export function Tabs({ tabs, selected, onSelect, label }: Props) {
  return (
    <div className="tabs" role="tablist" aria-label={label}>
      {tabs.map((t) => (
        <button
          key={t.id}
          type="button"
          role="tab"
          id={`tab-${t.id}`}
          aria-selected={t.id === selected}
          className={`tab${t.id === selected ? ' is-selected' : ''}`}
          onClick={() => onSelect(t.id)}
        >
          {t.label}
        </button>
      ))}
    </div>
  );
}
