"""Packing of metric chunks: little-endian int64 steps, float64 values and times."""

import sys
from array import array

_SWAP = sys.byteorder != "little"


def pack(typecode: str, items) -> bytes:
    """Pack numbers as a little-endian array ('q' int64, 'd' float64)."""
    arr = array(typecode, items)
    if _SWAP:
        arr.byteswap()
    return arr.tobytes()


def unpack(typecode: str, data: bytes | memoryview) -> array:
    """The array packed by `pack`."""
    arr = array(typecode)
    arr.frombytes(bytes(data))
    if _SWAP:
        arr.byteswap()
    return arr
