"""Metric chunks, compact and lossless: each column encoded on its own.

- steps (int64) by delta of delta: regular steps (0, 1, 2, ... or every 10th) become
  zeros;
- times (unix seconds) as int64 microseconds, by delta of delta: points logged at a
  steady pace become small numbers (kept to the microsecond, as datetimes are);
- values (float64) XOR the previous value (Gorilla's idea): neighbours share their
  sign, exponent and leading mantissa bits, which become zero bytes. Values that are
  all float32 numbers (what a framework's float32 tensors give: `loss.item()`) are
  stored as 4-byte words, bit for bit the same once read back.

Every column's 8-byte words are then byte-shuffled (all first bytes, then all second
bytes, ...) so that those zero bytes stand together, and deflated. A column starts
with one format byte. Encoding and decoding are numpy operations on whole arrays: no
Python loop per point.
"""

from __future__ import annotations

import zlib

import numpy as np

FORMAT = b"\x01"
# Values only: float32 words (every value a float32 number), XORed and shuffled.
FORMAT_F32 = b"\x02"
# Raw deflate (no zlib header and checksum: 6 bytes a column saved); level 6: at a
# chunk's size the default costs ~0.1 ms more than level 1 and saves ~10%.
_WBITS = -15
_LEVEL = 6


class CodecError(ValueError):
    """A column that is not in the format this module writes."""


def _shuffle(words: np.ndarray) -> bytes:
    width = words.dtype.itemsize
    columns = words.view(np.uint8).reshape(-1, width).T
    return np.ascontiguousarray(columns).tobytes()


def _unshuffle(raw: bytes, dtype: str) -> np.ndarray:
    width = np.dtype(dtype).itemsize
    if len(raw) % width:
        raise CodecError(
            f"a column of {len(raw)} bytes is not a whole number of {width}-byte words"
        )
    return np.frombuffer(raw, dtype=np.uint8).reshape(width, -1).T.copy().view(dtype).ravel()


def _pack(words: np.ndarray, form: bytes = FORMAT) -> bytes:
    return form + zlib.compress(_shuffle(words), _LEVEL, _WBITS)


def _unpack(blob: bytes | memoryview, forms: dict[bytes, str] | None = None) -> np.ndarray:
    """The words of a column: {format byte: word dtype} says which formats may be here."""
    blob = bytes(blob)
    forms = forms or {FORMAT: "<u8"}
    dtype = forms.get(blob[:1])
    if dtype is None:
        raise CodecError(f"unknown metric column format {blob[:1]!r}")
    try:
        raw = zlib.decompress(blob[1:], _WBITS)
    except zlib.error as exc:
        raise CodecError(f"a damaged metric column: {exc}") from None
    return _unshuffle(raw, dtype)


def encode_ints(items) -> bytes:
    """int64 numbers by delta of delta, zigzagged (small of either sign: few bytes)."""
    x = np.asarray(items, dtype=np.int64)
    # Wrapping int64 arithmetic on both sides: any int64 survives, overflow included.
    with np.errstate(over="ignore"):
        d = np.diff(np.diff(x, prepend=np.int64(0)), prepend=np.int64(0))
        zigzag = (d << np.int64(1)) ^ (d >> np.int64(63))
    return _pack(zigzag.view("<u8"))


def decode_ints(blob: bytes | memoryview) -> np.ndarray:
    """The int64 array encode_ints packed."""
    z = _unpack(blob)
    d = ((z >> np.uint64(1)) ^ (np.uint64(0) - (z & np.uint64(1)))).view(np.int64)
    with np.errstate(over="ignore"):
        return np.cumsum(np.cumsum(d, dtype=np.int64), dtype=np.int64)


def encode_floats(items) -> bytes:
    """float64 numbers, each XOR the one before it: bit for bit (NaN payloads, -0.0).

    When every value survives float32 unchanged (its bits compared, so NaN payloads
    and -0.0 too), 4-byte words are stored.
    """
    v = np.asarray(items, dtype="<f8")
    with np.errstate(over="ignore", invalid="ignore"):
        narrow = v.astype("<f4")
    if np.array_equal(narrow.astype("<f8").view("<u8"), v.view("<u8")):
        u, form = narrow.view("<u4"), FORMAT_F32
    else:
        u, form = v.view("<u8"), FORMAT
    x = u.copy()
    x[1:] ^= u[:-1]
    return _pack(x, form)


_FLOAT_FORMS = {FORMAT: "<u8", FORMAT_F32: "<u4"}


def decode_floats(blob: bytes | memoryview) -> np.ndarray:
    """The float64 array encode_floats packed."""
    x = _unpack(blob, _FLOAT_FORMS)
    if x.size:
        x = np.bitwise_xor.accumulate(x)
    return x.view("<f4").astype("<f8") if x.dtype.itemsize == 4 else x.view("<f8")


def encode_times(seconds) -> bytes:
    """Unix times in seconds, kept to the microsecond."""
    micros = np.rint(np.asarray(seconds, dtype=np.float64) * 1e6).astype(np.int64)
    return encode_ints(micros)


def decode_times(blob: bytes | memoryview) -> np.ndarray:
    """Unix times in seconds (float64) from encode_times."""
    return decode_ints(blob) / 1e6
