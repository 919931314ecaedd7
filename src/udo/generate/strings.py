"""Building string columns from byte matrices, without a Python loop per row."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from udo.generate.rng import mix64

U8 = npt.NDArray[np.uint8]
U64 = npt.NDArray[np.uint64]

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_M62 = (1 << 62) - 1


def fixed_width(matrix: U8) -> pl.Series:
    """An (n, width) matrix of ASCII bytes as a string column of n values."""
    n, width = matrix.shape
    data = np.ascontiguousarray(matrix).tobytes()
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int64)
    arr = pa.Array.from_buffers(
        pa.large_string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )
    series = pl.from_arrow(arr)
    assert isinstance(series, pl.Series)
    return series.cast(pl.String)


def mix62(x: U64, key: int) -> U64:
    """A bijection on 62-bit integers (add, xor-shift and odd multiplies modulo 2**62)."""
    m = np.uint64(_M62)
    with np.errstate(over="ignore"):
        z = (x + np.uint64(key & _M62)) & m
        z ^= z >> np.uint64(31)
        z = (z * np.uint64(0xBF58476D1CE4E5B9 & _M62)) & m
        z ^= z >> np.uint64(29)
        z = (z * np.uint64(0x94D049BB133111EB & _M62)) & m
        z ^= z >> np.uint64(32)
    return z


def uuids(index: npt.NDArray[np.int64], key: int) -> pl.Series:
    """RFC 4122 version-4-shaped UUIDs, a bijection of the row index: unique by construction.

    The low 62 bits are a bijection of the index, so two rows never share a UUID; the
    rest is a hash of the index with the version and variant bits set.
    """
    idx = index.astype(np.uint64)
    hi = mix64(idx ^ np.uint64(key & 0xFFFFFFFFFFFFFFFF))
    hi = (hi & np.uint64(0xFFFFFFFFFFFF0FFF)) | np.uint64(0x0000000000004000)
    lo = mix62(idx, key >> 2) | np.uint64(0x8000000000000000)
    raw = np.empty((len(idx), 16), dtype=np.uint8)
    raw[:, :8] = hi.astype(">u8").view(np.uint8).reshape(-1, 8)
    raw[:, 8:] = lo.astype(">u8").view(np.uint8).reshape(-1, 8)
    hexed = np.empty((len(idx), 32), dtype=np.uint8)
    hexed[:, 0::2] = _HEX[raw >> 4]
    hexed[:, 1::2] = _HEX[raw & 15]
    out = np.full((len(idx), 36), ord("-"), dtype=np.uint8)
    out[:, 0:8] = hexed[:, 0:8]
    out[:, 9:13] = hexed[:, 8:12]
    out[:, 14:18] = hexed[:, 12:16]
    out[:, 19:23] = hexed[:, 16:20]
    out[:, 24:36] = hexed[:, 20:32]
    return fixed_width(out)


def decimal_digits(values: npt.NDArray[np.int64], width: int) -> U8:
    """Zero-padded decimal digits of non-negative integers as an (n, width) byte matrix."""
    out = np.empty((len(values), width), dtype=np.uint8)
    v = values.astype(np.int64).copy()
    for pos in range(width - 1, -1, -1):
        out[:, pos] = (v % 10 + 48).astype(np.uint8)
        v //= 10
    return out
