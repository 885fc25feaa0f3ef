"""Metric chunks, compact and lossless: each column encoded on its own.

- steps (int64) by delta of delta: regular steps (0, 1, 2, ... or every 10th) become
  zeros;
- times (unix seconds) as int64 microseconds, by delta of delta: points logged at a
  steady pace become small numbers (kept to the microsecond, as datetimes are);
- values (float64) as their bit patterns, each chunk by whichever of three
  transforms packs it smallest: XOR the previous value (Gorilla's idea: neighbours
  share sign, exponent and leading mantissa bits, which become zero bytes), or the
  difference of the patterns as integers, or the difference of differences (a
  smooth curve, a decaying learning rate: the high bytes of a steady slope cancel),
  both zigzagged. Values that are all float32 numbers (what a framework's float32
  tensors give: `loss.item()`) are stored as 4-byte words, bit for bit the same once
  read back.

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


def _transform(u: np.ndarray, how: str) -> np.ndarray:
    """Unsigned words -> the transformed words: XOR the previous word, or the difference
    ("delta") or difference of differences ("delta2") as signed integers, zigzagged
    (wrapping arithmetic: any word survives)."""
    if how == "xor":
        x = u.copy()
        x[1:] ^= u[:-1]
        return x
    signed = u.view(u.dtype.str.replace("u", "i"))
    one, bits = signed.dtype.type(1), signed.dtype.type(signed.dtype.itemsize * 8 - 1)
    # Subtraction in place, of the previous word (array integer arithmetic wraps, and
    # does not warn): several times faster than np.diff on a chunk's few hundred words.
    d = signed.copy()
    d[1:] -= signed[:-1]
    if how == "delta2":
        d2 = d.copy()
        d2[1:] -= d[:-1]
        d = d2
    return ((d << one) ^ (d >> bits)).view(u.dtype)


def _untransform(x: np.ndarray, how: str) -> np.ndarray:
    if not x.size:
        return x
    if how == "xor":
        return np.bitwise_xor.accumulate(x)
    one = x.dtype.type(1)
    d = ((x >> one) ^ (x.dtype.type(0) - (x & one))).view(x.dtype.str.replace("u", "i"))
    with np.errstate(over="ignore"):
        d = np.cumsum(d, dtype=d.dtype)
        if how == "delta2":
            d = np.cumsum(d, dtype=d.dtype)
    return d.view(x.dtype)


def encode_ints(items) -> bytes:
    """int64 numbers by delta of delta, zigzagged (small of either sign: few bytes)."""
    # Wrapping int64 arithmetic on both sides: any int64 survives, overflow included.
    return _pack(_transform(np.asarray(items, dtype="<i8").view("<u8"), "delta2"))


def decode_ints(blob: bytes | memoryview) -> np.ndarray:
    """The int64 array encode_ints packed."""
    return _untransform(_unpack(blob), "delta2").view(np.int64)


# Values: (word dtype, transform) by format byte. FORMAT and FORMAT_F32 are XOR.
_VALUE_FORMS = {
    FORMAT: ("<u8", "xor"),
    FORMAT_F32: ("<u4", "xor"),
    b"\x03": ("<u8", "delta"),
    b"\x04": ("<u8", "delta2"),
    b"\x05": ("<u4", "delta"),
    b"\x06": ("<u4", "delta2"),
}
_FORM_OF = {v: k for k, v in _VALUE_FORMS.items()}
# Words of a column tried with each transform to choose one (all of a smaller column).
_SAMPLE = 1024


def encode_floats(items) -> bytes:
    """float64 numbers bit for bit (NaN payloads, -0.0), each chunk in the transform
    that packs its first words smallest (see the module docstring).

    When every value survives float32 unchanged (its bits compared, so NaN payloads
    and -0.0 too), 4-byte words are stored.
    """
    v = np.asarray(items, dtype="<f8")
    with np.errstate(over="ignore", invalid="ignore"):
        narrow = v.astype("<f4")
    if np.array_equal(narrow.astype("<f8").view("<u8"), v.view("<u8")):
        u, dtype = narrow.view("<u4"), "<u4"
    else:
        u, dtype = v.view("<u8"), "<u8"
    sample = u[:_SAMPLE]
    best = None
    for how in ("xor", "delta", "delta2"):
        packed = _pack(_transform(sample, how), _FORM_OF[dtype, how])
        if best is None or len(packed) < len(best[1]):
            best = (how, packed)
    how, packed = best
    if u.size <= _SAMPLE:
        return packed
    return _pack(_transform(u, how), _FORM_OF[dtype, how])


def holds_float32(blob: bytes | memoryview) -> bool:
    """Whether a values column holds 4-byte (float32) words."""
    form = _VALUE_FORMS.get(bytes(blob[:1]))
    return form is not None and form[0] == "<u4"


def decode_floats(blob: bytes | memoryview) -> np.ndarray:
    """The float64 array encode_floats packed."""
    blob = bytes(blob)
    form = _VALUE_FORMS.get(blob[:1])
    if form is None:
        raise CodecError(f"unknown metric column format {blob[:1]!r}")
    dtype, how = form
    x = _untransform(_unpack(blob, {blob[:1]: dtype}), how)
    return x.view("<f4").astype("<f8") if x.dtype.itemsize == 4 else x.view("<f8")


def encode_times(seconds) -> bytes:
    """Unix times in seconds, kept to the microsecond."""
    micros = np.rint(np.asarray(seconds, dtype=np.float64) * 1e6).astype(np.int64)
    return encode_ints(micros)


def decode_times(blob: bytes | memoryview) -> np.ndarray:
    """Unix times in seconds (float64) from encode_times."""
    return decode_ints(blob) / 1e6
