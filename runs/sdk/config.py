"""Where the SDK finds its studio: a config file found from a directory upwards, then env vars.

Search order (the first match wins, then the environment overrides single values):

1. In the starting directory (the current one by default), then in each parent:
   `.studio/config.json` (what `studio folder attach` writes), then `config.json`.
   A plain `config.json` counts only when it is a JSON object with a `url` or a
   `workspace` key: ML projects often keep a model's `config.json` around.
2. `STUDIO_URL`, `STUDIO_WORKSPACE` and `STUDIO_TOKEN` replace the file's
   `url`, `workspace` and `token`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from runs.sdk.errors import ConfigError

CONFIG_DIR = ".studio"
CONFIG_NAME = "config.json"
ENV = {"url": "STUDIO_URL", "workspace": "STUDIO_WORKSPACE", "token": "STUDIO_TOKEN"}


@dataclass(frozen=True)
class Config:
    url: str
    workspace: str
    token: str
    # The file the values came from (None when they all came from the environment).
    path: Path | None = None


def candidates(start: Path) -> list[Path]:
    """The config files looked for, in order: `.studio/config.json`, `config.json`, per level."""
    out = []
    for directory in [start, *start.parents]:
        out.append(directory / CONFIG_DIR / CONFIG_NAME)
        out.append(directory / CONFIG_NAME)
    return out


def _read(path: Path) -> dict | None:
    """The file's values, or None when it is not ours (a plain config.json of something else)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        if path.parent.name == CONFIG_DIR:
            raise ConfigError(f"{path} is not valid JSON: {exc}") from None
        return None
    ours = isinstance(data, dict) and ("url" in data or "workspace" in data)
    if not ours:
        if path.parent.name == CONFIG_DIR:
            raise ConfigError(f'{path} must be a JSON object {{"url", "workspace", "token"}}')
        return None
    for key in ("url", "workspace", "token"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise ConfigError(f"{path}: {key!r} must be a string")
    return data


def find_file(start: Path | None = None) -> tuple[Path, dict] | None:
    """The first config file from `start` upwards, with its values."""
    start = (start or Path.cwd()).resolve()
    for path in candidates(start):
        if path.is_file():
            data = _read(path)
            if data is not None:
                return path, data
    return None


def load(path: str | os.PathLike | None = None, *, start: Path | None = None) -> Config:
    """The configuration: an explicit file, or the one found from `start`; env vars override."""
    found: tuple[Path, dict] | None
    if path is not None:
        path = Path(path)
        if path.is_dir():
            path = path / CONFIG_NAME
        if not path.is_file():
            raise ConfigError(f"no config file at {path}")
        data = _read(path)
        if data is None:
            raise ConfigError(f'{path} is not a studio config: it needs "url" and "workspace"')
        found = (path, data)
    else:
        found = find_file(start)
    values = dict(found[1]) if found else {}
    for key, var in ENV.items():
        if os.environ.get(var):
            values[key] = os.environ[var]
    missing = [key for key in ("url", "workspace", "token") if not values.get(key)]
    if missing:
        where = (
            f"{found[0]} has no {', '.join(repr(m) for m in missing)}"
            if found
            else f"no {CONFIG_DIR}/{CONFIG_NAME} or {CONFIG_NAME} in "
            f"{(start or Path.cwd()).resolve()} or any parent"
        )
        hint = (
            "; set " + ", ".join(ENV[m] for m in missing)
            if missing == ["token"]
            else "; run `studio folder attach -w WORKSPACE --url URL` or set "
            + ", ".join(ENV[m] for m in missing)
        )
        raise ConfigError(f"the studio is not configured: {where}{hint}")
    return Config(
        url=values["url"],
        workspace=values["workspace"],
        token=values["token"],
        path=found[0] if found else None,
    )


def write(directory: Path, *, url: str, workspace: str, token: str | None = None) -> Path:
    """Write `<directory>/.studio/config.json`; readable by its owner only when it holds a token."""
    folder = directory / CONFIG_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CONFIG_NAME
    data = {"url": url, "workspace": workspace}
    if token:
        data["token"] = token
    mode = 0o600 if token else 0o644
    # Create with the final mode, and set it before writing when the file existed, so a
    # token is never readable by others, even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    os.fchmod(fd, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
        fh.write("\n")
    return path
