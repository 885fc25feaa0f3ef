"""Names and values as the studio takes them, and the run lists' query parameters."""

from __future__ import annotations

from typing import Any

MAX_KEY = 255
# The API's largest page of runs.
PAGE = 500


def check_name(kind: str, name: Any) -> str:
    """A metric, tag or property name as the studio takes it; TypeError/ValueError otherwise."""
    if not isinstance(name, str):
        raise TypeError(f"a {kind} name must be a string, not {type(name).__name__} {name!r}")
    if not name.strip():
        raise ValueError(f"a {kind} name must not be empty")
    if len(name) > MAX_KEY:
        raise ValueError(f"{kind} name {name[:40]!r}… is {len(name)} characters; max {MAX_KEY}")
    if any(ord(c) < 32 for c in name):
        raise ValueError(f"{kind} name {name!r} contains a control character")
    return name


def metric_value(value: Any) -> float | str | bool:
    """A metric point's value: a number (as float), or a string or a boolean (a text series)."""
    if isinstance(value, str | bool):
        return value
    if isinstance(value, bytes):
        raise TypeError(f"a metric value must be a number, a string or a boolean, not {value!r}")
    return float(value)


def _pairs(kind: str, spec: Any) -> list[str]:
    """`{"k": "v", "flag": None}`, `"flag"` or `["a", "b"]` -> `["k=v", "flag"]`."""
    if spec is None:
        return []
    if isinstance(spec, str):
        spec = {spec: None}
    elif not isinstance(spec, dict):
        spec = dict.fromkeys(spec)
    out = []
    for key, value in spec.items():
        check_name(kind, key)
        if "=" in key:
            raise ValueError(f"{kind} {key!r}: a key with '=' can only be matched with filter=")
        out.append(key if value is None else f"{key}={value}")
    return out


def filter_params(tags: Any, properties: Any, status: Any) -> list[tuple[str, str]]:
    """Query parameters of the run lists (tag, property, status; each may repeat)."""
    params = [("tag", t) for t in _pairs("tag", tags)]
    params += [("property", p) for p in _pairs("property", properties)]
    if status is not None:
        statuses = [status] if isinstance(status, str) else list(status)
        params += [("status", s) for s in statuses]
    return params
