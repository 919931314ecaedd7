"""Counter-based randomness: every random value is a function of (seed, stream, row).

Rows are grouped in fixed blocks of `BLOCK` rows; each (stream, block) pair seeds its own
PCG64 generator. Any row range can therefore be produced on its own, and the values of
row i do not depend on how the table is chunked: the same spec and seed give the same
bytes whatever the chunk size, and a child table can be generated in step with its
parent's chunks.
"""

from __future__ import annotations

import hashlib

import numpy as np
import numpy.typing as npt

BLOCK = 1 << 16

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


def stream_key(seed: int, *names: str) -> int:
    """A 64-bit key naming one random stream (e.g. seed, 'orders', 'status')."""
    h = hashlib.blake2b(digest_size=8)
    h.update(seed.to_bytes(8, "little", signed=False))
    for name in names:
        h.update(b"\x00" + name.encode())
    return int.from_bytes(h.digest(), "little")


def _block(key: int, block: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64([key, block]))


def uniform(key: int, start: int, stop: int) -> F64:
    """Uniform doubles in [0, 1) for rows [start, stop) of stream `key`."""
    n = stop - start
    if n <= 0:
        return np.empty(0, dtype=np.float64)
    first, last = start // BLOCK, (stop - 1) // BLOCK
    if first == last:
        offset = start - first * BLOCK
        values = _block(key, first).random(offset + n)
        return values[offset:]
    out = np.empty(n, dtype=np.float64)
    pos = 0
    for b in range(first, last + 1):
        lo = max(start, b * BLOCK)
        hi = min(stop, (b + 1) * BLOCK)
        values = _block(key, b).random(hi - b * BLOCK)
        out[pos : pos + hi - lo] = values[lo - b * BLOCK :]
        pos += hi - lo
    return out


def integers(key: int, start: int, stop: int, n: int) -> I64:
    """Uniform integers in [0, n) for rows [start, stop)."""
    return np.minimum((uniform(key, start, stop) * n).astype(np.int64), max(n - 1, 0))


def mix64(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """The splitmix64 finaliser: a bijection on 64-bit integers that scrambles well."""
    with np.errstate(over="ignore"):
        z = x.copy()
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return z


def permute(index: I64, n: int, key: int) -> I64:
    """A bijection of [0, n) applied to `index`: unique values in a shuffled order.

    A keyed mix (add, xor-shift, odd multiply) is a bijection on k-bit integers, k the
    bits of n; values that land at or past n are mixed again until they fall inside
    (cycle walking), which keeps the map a bijection on [0, n).
    """
    if n <= 1:
        return np.zeros_like(index)
    bits = max(int(n - 1).bit_length(), 2)
    mask = np.uint64((1 << bits) - 1)
    shift_a = np.uint64(max(bits // 2, 1))
    shift_b = np.uint64(max(bits // 3, 1))
    k1 = np.uint64(key & ((1 << bits) - 1))
    k2 = np.uint64((key >> 17) & ((1 << bits) - 1))
    m1 = np.uint64(0xBF58476D1CE4E5B9 & ((1 << bits) - 1) | 1)
    m2 = np.uint64(0x94D049BB133111EB & ((1 << bits) - 1) | 1)

    def mix(z: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
        with np.errstate(over="ignore"):
            z = (z + k1) & mask
            z ^= z >> shift_a
            z = (z * m1) & mask
            z ^= z >> shift_b
            z = (z + k2) & mask
            z = (z * m2) & mask
            z ^= z >> shift_a
        return z

    out = mix(index.astype(np.uint64))
    todo = np.flatnonzero(out >= np.uint64(n))
    while len(todo):
        out[todo] = mix(out[todo])
        todo = todo[out[todo] >= np.uint64(n)]
    return out.astype(np.int64)
