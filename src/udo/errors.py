"""The udo error hierarchy.

Every error udo raises on purpose is a `UdoError`. Retryability is a marker mixin, not a
provider check: the worker retries a `TransientError` and gives up on a `TerminalError`,
whatever SDK stood behind it. Adapters translate SDK exceptions at the boundary
(``raise ObjectNotFound(key) from exc``).
"""

from __future__ import annotations


class UdoError(Exception):
    """Root of every error udo raises on purpose. Its message is meant for the user."""


class TransientError(UdoError):
    """Marker: the same call may succeed later (throttling, a dropped connection)."""


class TerminalError(UdoError):
    """Marker: retrying the same call cannot help (bad input, missing object)."""


class ConfigError(TerminalError):
    """The configuration is invalid or names something that is not available."""


class SpecError(TerminalError):
    """A DatasetSpec is invalid. `problems` lists each problem with its location."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        lines = [f"  {loc}: {msg}" if loc else f"  {msg}" for loc, msg in problems]
        n = len(problems)
        super().__init__(
            f"invalid dataset spec ({n} problem{'s' if n != 1 else ''}):\n" + "\n".join(lines)
        )


class StorageError(UdoError):
    """Base of StorageService errors."""


class ObjectNotFound(StorageError, TerminalError):
    """The key does not exist."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"object not found: {key}")


class ObjectExists(StorageError, TerminalError):
    """A write that must not overwrite found the key (or prefix) already there."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"object already exists: {key}")


class InvalidKey(StorageError, TerminalError):
    """A storage key is malformed (absolute, '..', empty segment, backslash)."""


class StorageUnavailable(StorageError, TransientError):
    """The store could not be reached or throttled us; try again later."""


class BatchError(TerminalError):
    """A Bronze batch could not be landed or read."""


class BatchExists(BatchError):
    """The batch id is already landed; Bronze is append-only and never overwritten."""


class IngestError(TerminalError):
    """A user's file cannot be read at all (as opposed to rows that are merely malformed)."""


class RunNotFound(TerminalError):
    """No run with that id."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"no run {run_id}")
