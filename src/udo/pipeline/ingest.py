"""Ingest: land a user's CSV, JSON lines and Parquet files as one Bronze batch.

Each file is copied byte for byte (Bronze holds data as received) while it is read once,
in chunks, to fill the manifest: records, inferred columns, encoding and a summary of the
malformed rows. Malformed rows stay in the landed file and count as records; Silver sends
them to quarantine, so nothing is silently dropped. Blank lines are not records, in CSV
as in JSON lines.

Speed: a chunk is decoded in one call and only the lines around a decoding error are
handled one by one; CSV needs one `csv` pass (ragged rows, multi-line quoted fields) and
its schema is inferred with vectorised polars checks over every well-formed row.
Parquet files are described from their footer, without reading the data.
"""

from __future__ import annotations

import csv
import io
import json
import re
import stat
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

from udo.config import IngestSettings
from udo.domain.manifest import BronzeManifest, ColumnSchema, MalformedSummary, TableManifest
from udo.errors import BatchError, IngestError
from udo.pipeline.bronze import BatchDraft, BronzeStore, HashingWriter, check_name, new_batch_id

if TYPE_CHECKING:
    import polars as pl

Format = Literal["csv", "jsonl", "parquet"]

FORMATS: dict[str, Format] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
"""Accepted file extensions (case-insensitive) and the Bronze format each lands as."""

CHUNK_BYTES = 4 * 1024**2
MAX_LINE_BYTES = 64 * 1024**2
"""A longer physical line means the file is not line-oriented text: refuse it, not OOM."""
INFER_BATCH_ROWS = 65_536
EXCERPT_CHARS = 200
SNIFF_BYTES = 8192
_BOM = b"\xef\xbb\xbf"
_INVALID_BYTE = re.compile("[\udc80-\udcff]")

_DECIMAL_RE = r"^[+-]?[0-9]+(\.[0-9]+)?$"
_TIMESTAMP_RE = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"([T ]([01][0-9]|2[0-3]):[0-5][0-9](:([0-5][0-9]|60)(\.[0-9]{1,9})?)?"
    r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)?)?$"
)
_TYPE_ORDER = ("bool", "int", "decimal", "float", "date", "timestamp")
"""When several types fit every value, the first one in this order wins."""
_IMPLIED = {"int": ("decimal", "float"), "decimal": ("float",), "date": ("timestamp",)}
"""Values that fit the key fit these too (and no other later type)."""
_MAX_DECIMAL_PRECISION = 38


def ingest_files(
    bronze: BronzeStore,
    paths: Sequence[Path],
    dataset: str,
    *,
    batch_id: str | None = None,
    settings: IngestSettings,
    progress: Callable[[int], None] | None = None,
) -> BronzeManifest:
    """Land `paths` as one Bronze batch of `dataset` (origin "ingested") and return its manifest.

    The format comes from each file's extension (see `FORMATS`) and the table name from its
    stem. Every file is checked before anything is written (type, name, size, readable,
    text or a valid Parquet footer), then copied to ``<table>.<csv|jsonl|parquet>``.
    `progress` receives the total bytes copied so far, over all files.

    Raises `IngestError` when a file cannot be ingested at all (the message names the file
    and what to do) and `BatchExists` if the batch id is already landed; in either case
    nothing of the batch stays in the lake.
    """
    if not paths:
        raise IngestError("no files to ingest: pass at least one .csv, .jsonl or .parquet file")
    _checked("dataset", dataset)
    batch_id = batch_id or new_batch_id()
    _checked("batch", batch_id)
    sources = _plan(paths, settings)
    meter = _Meter(progress)
    tables: dict[str, TableManifest] = {}
    with bronze.land(dataset, batch_id) as draft:
        for source in sources:
            tables[source.table] = _land(draft, source, settings, meter)
        manifest = BronzeManifest(
            dataset=dataset,
            batch_id=batch_id,
            origin="ingested",
            created_at=datetime.now(UTC),
            tables=tables,
        )
        draft.commit(manifest)
    return manifest


# -- planning: every check that needs no copy -------------------------------------------


@dataclass(frozen=True)
class _Source:
    path: Path
    table: str
    format: Format
    parquet: tuple[int, list[ColumnSchema]] | None = None
    """Records and columns, read from the footer while planning."""


def _checked(kind: str, name: str) -> None:
    try:
        check_name(kind, name)
    except BatchError as exc:
        raise IngestError(str(exc)) from exc


def _plan(paths: Sequence[Path], settings: IngestSettings) -> list[_Source]:
    sources: list[_Source] = []
    seen: dict[str, Path] = {}
    for path in map(Path, paths):
        fmt = FORMATS.get(path.suffix.lower())
        if fmt is None:
            accepted = ", ".join(FORMATS)
            raise IngestError(
                f"cannot ingest {path.name}: unknown file type {path.suffix or '(none)'!r}; "
                f"accepted extensions: {accepted}"
            )
        table = path.stem
        try:
            check_name("table", table)
        except BatchError as exc:
            raise IngestError(
                f"cannot ingest {path.name}: {exc}; rename the file "
                "(its name without the extension becomes the table name)"
            ) from exc
        # Case-insensitive: SQL identifiers and some file systems ignore case.
        if (other := seen.get(table.lower())) is not None:
            raise IngestError(
                f"{other.name} and {path.name} would both land as table {table!r}; "
                "rename one of them"
            )
        seen[table.lower()] = path
        head = _check_readable(path, settings)
        if fmt == "parquet":
            sources.append(_Source(path, table, fmt, _parquet_footer(path)))
        else:
            _check_text(path, head, fmt)
            sources.append(_Source(path, table, fmt))
    return sources


def _check_readable(path: Path, settings: IngestSettings) -> bytes:
    """Stat and open `path`; return its first bytes."""
    try:
        st = path.stat()
        if stat.S_ISDIR(st.st_mode):
            raise IngestError(f"cannot ingest {path}: it is a folder; pass the files inside it")
        if not stat.S_ISREG(st.st_mode):  # a FIFO or a device would block or never end
            raise IngestError(f"cannot ingest {path}: it is not a regular file")
        size = st.st_size
        with path.open("rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except FileNotFoundError as exc:
        raise IngestError(f"cannot ingest {path}: no such file; check the path") from exc
    except OSError as exc:
        raise IngestError(
            f"cannot read {path}: {exc.strerror or exc}; check that it is a readable file"
        ) from exc
    if size > settings.max_file_bytes:
        raise IngestError(_too_big(path, settings.max_file_bytes))
    return head


def _too_big(path: Path, limit: int) -> str:
    return (
        f"{path.name} is larger than the ingest limit of {limit} bytes; split it into "
        "smaller files or raise ingest.max_file_bytes (UDO_INGEST__MAX_FILE_BYTES)"
    )


def _check_text(path: Path, head: bytes, fmt: Format) -> None:
    if b"\x00" in head:
        raise IngestError(
            f"cannot ingest {path.name}: it is not UTF-8 text (it holds NUL bytes). "
            f"If it is UTF-16, re-save it as UTF-8; otherwise it is not a {fmt.upper()} file"
        )
    if b"\n" not in head and b"\r" in head.rstrip(b"\r"):
        raise IngestError(
            f"cannot ingest {path.name}: its lines end with a bare carriage return (old Mac "
            "style); convert the line endings to LF or CRLF"
        )


def _parquet_footer(path: Path) -> tuple[int, list[ColumnSchema]]:
    """Records and columns from the Parquet footer; no data page is read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        with path.open("rb") as fh:
            meta = pq.ParquetFile(fh).metadata
            schema = meta.schema.to_arrow_schema()
            rows = int(meta.num_rows)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise IngestError(
            f"cannot ingest {path.name}: it is not a readable Parquet file ({exc}); check "
            "that it was completely written or downloaded, or export it again"
        ) from exc
    columns = [
        ColumnSchema(name=f.name, type=_arrow_type(f.type), nullable=f.nullable) for f in schema
    ]
    return rows, columns


def _arrow_type(t: Any) -> str:
    """udo's name for an Arrow type; types udo has no name for land as "string"."""
    import pyarrow as pa

    if pa.types.is_dictionary(t):
        return _arrow_type(t.value_type)
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "timestamp"
    return "string"


# -- copying ------------------------------------------------------------------------------


class _Meter:
    """Bytes copied over the whole batch, reported to the caller's progress callback."""

    def __init__(self, progress: Callable[[int], None] | None) -> None:
        self.progress = progress
        self.done = 0

    def add(self, n: int) -> None:
        self.done += n
        if self.progress is not None:
            self.progress(self.done)


@dataclass
class _Facts:
    """What reading a text file taught us, for its TableManifest."""

    records: int
    columns: list[ColumnSchema]
    malformed: MalformedSummary
    invalid_lines: int


def _land(
    draft: BatchDraft, source: _Source, settings: IngestSettings, meter: _Meter
) -> TableManifest:
    name = f"{source.table}.{source.format}"
    samples = settings.malformed_samples
    try:
        fh = source.path.open("rb")
    except OSError as exc:  # it was readable when planned: moved or deleted since
        raise IngestError(f"cannot read {source.path}: {exc.strerror or exc}") from exc
    with fh, draft.open_file(name) as out:
        chunks = _copy(fh, out, meter, source.path, settings.max_file_bytes)
        facts: _Facts | None = None
        if source.format == "csv":
            facts = _read_csv(_text_blocks(chunks, source.path), source.path, samples)
        elif source.format == "jsonl":
            facts = _read_jsonl(_text_blocks(chunks, source.path), samples)
        for _ in chunks:  # Parquet (and anything a reader left): copy to the end
            pass
    size, sha256 = draft.file_stats(name)
    if facts is None:
        assert source.parquet is not None
        records, columns = source.parquet
        return TableManifest(
            file=name,
            format=source.format,
            bytes=size,
            sha256=sha256,
            records=records,
            columns=columns,
            source_name=source.path.name,
        )
    n = facts.invalid_lines
    encoding = f"utf-8 with {n} invalid line{'s' if n != 1 else ''}" if n else "utf-8"
    return TableManifest(
        file=name,
        format=source.format,
        bytes=size,
        sha256=sha256,
        records=facts.records,
        columns=facts.columns,
        malformed=facts.malformed,
        encoding=encoding,
        source_name=source.path.name,
    )


def _copy(
    fh: BinaryIO, out: HashingWriter, meter: _Meter, path: Path, limit: int
) -> Iterator[bytes]:
    """Copy `fh` to `out` chunk by chunk, yielding each chunk once it is written."""
    copied = 0
    while True:
        try:
            chunk = fh.read(CHUNK_BYTES)
        except OSError as exc:
            raise IngestError(f"cannot read {path}: {exc.strerror or exc}") from exc
        if not chunk:
            return
        copied += len(chunk)
        if copied > limit:  # the file grew after it was checked
            raise IngestError(_too_big(path, limit))
        out.write(chunk)
        meter.add(len(chunk))
        yield chunk


@dataclass(frozen=True)
class _Block:
    """Decoded text of whole lines; invalid UTF-8 lines are decoded with backslash escapes."""

    first_line: int
    text: str
    bad_lines: list[int]


def _text_blocks(chunks: Iterable[bytes], path: Path) -> Iterator[_Block]:
    """Cut the chunks at line ends and decode each block (a BOM at the start is dropped)."""
    carry = b""
    line = 1
    first = True
    for chunk in chunks:
        data = carry + chunk if carry else chunk
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            if len(data) > MAX_LINE_BYTES:
                raise IngestError(
                    f"cannot ingest {path.name}: line {line} is longer than "
                    f"{MAX_LINE_BYTES // 1024**2} MiB; is it really line-oriented text?"
                )
            carry = data
            continue
        block, carry = data[:cut], data[cut:]
        yield _decode(block, line, skip_bom=first)
        first = False
        line += block.count(b"\n")
    if carry:
        yield _decode(carry, line, skip_bom=first)


def _decode(block: bytes, first_line: int, *, skip_bom: bool = False) -> _Block:
    """Decode in one call; if that fails, find the lines holding invalid bytes (linear)."""
    data = block[len(_BOM) :] if skip_bom and block.startswith(_BOM) else block
    try:
        return _Block(first_line, data.decode("utf-8"), [])
    except UnicodeDecodeError:
        pass
    # surrogateescape maps each invalid byte to one lone surrogate U+DC80..U+DCFF, which
    # valid UTF-8 never yields: those mark the bad lines, shown with backslash escapes.
    text = data.decode("utf-8", "surrogateescape")
    parts: list[str] = []
    bad: list[int] = []
    line, done = first_line, 0
    for match in _INVALID_BYTE.finditer(text):
        if match.start() < done:
            continue  # another invalid byte of a line already handled
        start = max(text.rfind("\n", done, match.start()) + 1, done)
        end = text.find("\n", match.start())
        end = len(text) if end < 0 else end + 1
        parts.append(text[done:start])
        line += text.count("\n", done, start)
        bad.append(line)
        raw = text[start:end].encode("utf-8", "surrogateescape")
        parts.append(raw.decode("utf-8", "backslashreplace"))
        line += 1
        done = end
    parts.append(text[done:])
    return _Block(first_line, "".join(parts), bad)


# -- malformed rows -----------------------------------------------------------------------


class _Malformed:
    """Counts malformed rows by reason and keeps the first few as samples."""

    def __init__(self, max_samples: int) -> None:
        self.max_samples = max_samples
        self.by_reason: Counter[str] = Counter()
        self.samples: list[dict[str, Any]] = []

    def add(
        self, line: int, reason: str, excerpt: str | Callable[[], str], detail: str = ""
    ) -> None:
        """Count one malformed row; `excerpt` may be a callable, only called for a sample."""
        self.by_reason[reason] += 1
        if len(self.samples) < self.max_samples:
            text = excerpt if isinstance(excerpt, str) else excerpt()
            sample: dict[str, Any] = {
                "line": line,
                "reason": reason,
                "excerpt": text.rstrip("\r\n")[:EXCERPT_CHARS],
            }
            if detail:
                sample["detail"] = detail
            self.samples.append(sample)

    def summary(self) -> MalformedSummary:
        return MalformedSummary(
            count=self.by_reason.total(), by_reason=dict(self.by_reason), samples=self.samples
        )


# -- CSV ----------------------------------------------------------------------------------


def _read_csv(blocks: Iterable[_Block], path: Path, max_samples: int) -> _Facts:
    """Count records (header excluded), find malformed ones and infer the columns.

    Line numbers are physical lines of the file; a record spanning lines (a quoted field
    holding newlines) is reported at its first line.
    """
    recent: deque[_Block] = deque()  # the blocks since the current record started
    bad: deque[int] = deque()
    invalid_lines = 0

    def lines() -> Iterator[str]:
        nonlocal invalid_lines
        for block in blocks:
            recent.append(block)
            while len(recent) > 1 and recent[1].first_line <= end + 1:
                recent.popleft()
            bad.extend(block.bad_lines)
            invalid_lines += len(block.bad_lines)
            yield from io.StringIO(block.text, newline="\n")

    def excerpt_at(line: int) -> Callable[[], str]:
        return lambda: _line_text(recent, line)

    reader = csv.reader(lines())
    malformed = _Malformed(max_samples)
    header: list[str] | None = None
    guesses: list[_Guess] = []
    rows: list[tuple[str, ...]] = []
    records = 0
    end = 0  # last physical line of the previous record
    while True:
        try:
            for row in reader:
                start, end = end + 1, reader.line_num
                spans_bad = False
                if bad and bad[0] <= end:
                    spans_bad = True
                    while bad and bad[0] <= end:
                        bad.popleft()
                if not row:
                    continue  # a blank line
                if header is None:
                    if spans_bad:
                        raise IngestError(
                            f"cannot ingest {path.name}: its header (line {start}) is not "
                            "valid UTF-8; re-save the file as UTF-8"
                        )
                    header = _header(row, path)
                    guesses = [_Guess() for _ in header]
                    continue
                records += 1
                if spans_bad:
                    malformed.add(start, "invalid_utf8", excerpt_at(start))
                elif len(row) != len(header):
                    detail = f"{len(row)} fields, the header has {len(header)}"
                    malformed.add(start, "ragged_row", excerpt_at(start), detail)
                else:
                    rows.append(tuple(row))  # str-only tuples leave the GC
                    if len(rows) >= INFER_BATCH_ROWS:
                        _observe_rows(guesses, rows)
                        rows = []
            break
        except csv.Error as exc:  # the reader resumes at the next line
            start, end = end + 1, reader.line_num
            while bad and bad[0] <= end:
                bad.popleft()
            if header is None:
                raise IngestError(
                    f"cannot ingest {path.name}: its header (line {start}) is not valid CSV: {exc}"
                ) from exc
            records += 1
            malformed.add(start, "csv_error", excerpt_at(start), str(exc))
    if rows:
        _observe_rows(guesses, rows)
    columns = [g.column(name) for name, g in zip(header or [], guesses, strict=True)]
    return _Facts(records, columns, malformed.summary(), invalid_lines)


def _header(row: list[str], path: Path) -> list[str]:
    seen: set[str] = set()
    for i, name in enumerate(row, start=1):
        if not name.strip():
            raise IngestError(
                f"cannot ingest {path.name}: column {i} of the header has no name; name every "
                "column (a pandas index? save with index=False)"
            )
        if name in seen:
            raise IngestError(
                f"cannot ingest {path.name}: column {name!r} appears twice in the header; "
                "column names must be unique"
            )
        seen.add(name)
    return row


def _line_text(recent: Iterable[_Block], line: int) -> str:
    """The text of physical line `line` if it is in one of the recent blocks."""
    for block in reversed(list(recent)):
        if line < block.first_line:
            continue
        text, pos = block.text, 0
        for _ in range(line - block.first_line):
            pos = text.find("\n", pos) + 1
            if pos == 0:
                return ""
        stop = text.find("\n", pos)
        return text[pos : stop if stop >= 0 else len(text)]
    return ""


# -- JSON lines ---------------------------------------------------------------------------


def _read_jsonl(blocks: Iterable[_Block], max_samples: int) -> _Facts:
    """Count records (non-blank lines), find malformed ones and infer the columns."""
    loads = json.loads
    malformed = _Malformed(max_samples)
    guesses: dict[str, _JsonGuess] = {}
    objects: list[dict[str, Any]] = []
    observed = False  # whether earlier objects were observed already
    records = 0
    invalid_lines = 0
    for block in blocks:
        bad = set(block.bad_lines)
        invalid_lines += len(bad)
        lineno = block.first_line - 1
        for line in block.text.split("\n"):
            lineno += 1
            if bad and lineno in bad:
                records += 1
                malformed.add(lineno, "invalid_utf8", line)
                continue
            try:
                obj = loads(line)
            except (ValueError, RecursionError) as exc:
                if not line.strip():
                    continue  # a blank line (or the end of the block)
                records += 1
                detail = str(exc) if isinstance(exc, ValueError) else "nested too deeply"
                malformed.add(lineno, "invalid_json", line, detail)
                continue
            records += 1
            if type(obj) is not dict:
                detail = f"a JSON {type(obj).__name__}, not an object"
                malformed.add(lineno, "not_object", line, detail)
                continue
            objects.append(obj)
            if len(objects) >= INFER_BATCH_ROWS:
                _observe_objects(guesses, objects, observed)
                observed, objects = True, []
    if objects:
        _observe_objects(guesses, objects, observed)
    columns = [g.column(name) for name, g in guesses.items()]
    return _Facts(records, columns, malformed.summary(), invalid_lines)


# -- schema inference ---------------------------------------------------------------------


@dataclass
class _Guess:
    """The types every non-null text value of a column seen so far fits."""

    possible: set[str] = field(default_factory=lambda: set(_TYPE_ORDER))
    values: int = 0
    nulls: bool = False
    scale: int | None = None
    int_digits: int = 0

    def column(self, name: str) -> ColumnSchema:
        return ColumnSchema(
            name=name, type=self.type_name(), nullable=self.nulls or not self.values
        )

    def type_name(self) -> str:
        if self.values:
            for candidate in _TYPE_ORDER:
                if candidate in self.possible:
                    if candidate == "decimal":
                        return f"decimal({self.int_digits + (self.scale or 0)},{self.scale})"
                    return candidate
        return "string"

    def observe(self, values: pl.Series) -> None:
        """Narrow the guess with a batch of text values ('' and blanks are nulls)."""
        stripped = values.str.strip_chars()
        present = stripped.filter(stripped.str.len_bytes() > 0)
        if present.len() < values.len():
            self.nulls = True
        self.values += present.len()
        if present.is_empty():
            return
        # Candidates in order; the first that fits decides which later ones still can.
        for candidate in _TYPE_ORDER:
            if candidate not in self.possible:
                continue
            if self._fits(candidate, present):
                self.possible &= {candidate, *_IMPLIED.get(candidate, ())}
                return
            self.possible.discard(candidate)

    def _fits(self, candidate: str, present: pl.Series) -> bool:
        import polars as pl

        if candidate == "bool":
            return bool(present.str.to_lowercase().is_in(["true", "false"]).all())
        if candidate == "int":  # the cast refuses signs-only, points, exponents, '_'
            if present.cast(pl.Int64, strict=False).null_count():
                return False
            if "decimal" in self.possible:  # ints are decimal(p,0) too: keep its state
                digits = present.str.strip_chars_start("+-").str.len_bytes().max()
                self._widen_decimal(0, digits if isinstance(digits, int) else 0)
            return True
        if candidate == "decimal":
            return self._fits_decimal(present)
        if candidate == "float":
            return present.cast(pl.Float64, strict=False).null_count() == 0
        if candidate == "date":
            return bool(
                (present.str.len_bytes() == 10).all()
                and present.str.to_date("%Y-%m-%d", strict=False).null_count() == 0
            )
        return bool(  # timestamp
            present.str.contains(_TIMESTAMP_RE).all()
            and present.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False).null_count() == 0
        )

    def _fits_decimal(self, present: pl.Series) -> bool:
        """Plain digits, every value with the same number of digits after the point."""
        if not present.str.contains(_DECIMAL_RE).all():
            return False
        scales = present.str.extract(r"\.([0-9]+)$", 1).str.len_chars().fill_null(0).unique()
        if scales.len() != 1:
            return False
        digits = present.str.extract(r"^[+-]?([0-9]+)", 1).str.len_chars().max()
        self._widen_decimal(int(scales[0]), digits if isinstance(digits, int) else 0)
        return "decimal" in self.possible

    def _widen_decimal(self, scale: int, int_digits: int) -> None:
        """Merge a batch's scale and integer digits into the decimal guess (or drop it)."""
        self.int_digits = max(self.int_digits, int_digits)
        if (self.scale is not None and scale != self.scale) or (
            self.int_digits + scale > _MAX_DECIMAL_PRECISION
        ):
            self.possible.discard("decimal")
        self.scale = scale


def _observe_rows(guesses: list[_Guess], rows: list[tuple[str, ...]]) -> None:
    import polars as pl

    for guess, values in zip(guesses, zip(*rows, strict=False), strict=True):
        guess.observe(pl.Series(values, dtype=pl.String))


@dataclass
class _JsonGuess:
    """The JSON value types of a key seen so far; strings may still be dates or timestamps."""

    types: set[type] = field(default_factory=set)
    text: _Guess = field(default_factory=lambda: _Guess(possible={"date", "timestamp"}))
    low: int = 0
    high: int = 0

    def column(self, name: str) -> ColumnSchema:
        present = self.types - {type(None)}
        nullable = type(None) in self.types or not present
        kind = "string"  # also for nested values and mixed types
        if present == {bool}:
            kind = "bool"
        elif present == {int}:
            if _INT64[0] <= self.low and self.high <= _INT64[1]:
                kind = "int"
            elif max(-self.low, self.high) < 10**_MAX_DECIMAL_PRECISION:
                kind = f"decimal({_MAX_DECIMAL_PRECISION},0)"
        elif present == {float} or present == {int, float}:
            kind = "float"
        elif present == {str}:
            kind = self.text.type_name()
        return ColumnSchema(name=name, type=kind, nullable=nullable)


_INT64 = (-(2**63), 2**63 - 1)


def _observe_objects(
    guesses: dict[str, _JsonGuess], objects: list[dict[str, Any]], observed: bool
) -> None:
    """Narrow the guesses with a batch of objects; `observed`: earlier batches were seen."""
    import polars as pl

    keys: dict[str, Any] = {}
    for obj in objects:
        keys.update(obj)
    for key in keys:
        if key not in guesses:
            # A key first seen in a later batch was missing from the earlier objects.
            guesses[key] = _JsonGuess(types={type(None)} if observed else set())
    for key, guess in guesses.items():
        values = [obj.get(key) for obj in objects]
        guess.types.update(map(type, values))
        present = guess.types - {type(None)}
        if present == {int}:
            ints = [v for v in values if v is not None]
            if ints:  # the key may be missing from every object of this batch
                guess.low, guess.high = min(guess.low, *ints), max(guess.high, *ints)
        elif present == {str} and guess.text.possible:
            texts = [v for v in values if v is not None]
            guess.text.observe(pl.Series(texts, dtype=pl.String))
