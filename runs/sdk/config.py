"""Where the SDK and CLI find the studio: config files and environment variables."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from runs.sdk.errors import ConfigError

CONFIG_NAMES = ("config.json", ".studio/config.json")
ENV_URL = "STUDIO_URL"
ENV_TOKEN = "STUDIO_TOKEN"  # noqa: S105 - the variable's name, not a token
ENV_WORKSPACE = "STUDIO_WORKSPACE"
ENV_RUN_ID = "STUDIO_RUN_ID"


@dataclass
class Settings:
    url: str
    token: str
    workspace: str
    source: str = ""


def find_config(start: Path | None = None) -> Path | None:
    """The nearest config.json or .studio/config.json from `start` (the cwd) upwards."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        for name in CONFIG_NAMES:
            candidate = folder / name
            if candidate.is_file() and _looks_like_ours(candidate):
                return candidate
    return None


def _looks_like_ours(path: Path) -> bool:
    # A project's unrelated config.json must not be taken for ours.
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return path.parent.name == ".studio"
    return isinstance(data, dict) and ("workspace" in data or "url" in data)


def load(
    *,
    url: str | None = None,
    token: str | None = None,
    workspace: str | None = None,
    path: str | os.PathLike | None = None,
) -> Settings:
    """Settings from arguments, then environment variables, then the config file."""
    file_values: dict = {}
    source = ""
    config_path = Path(path) if path else find_config()
    if config_path is not None:
        try:
            file_values = json.loads(Path(config_path).read_text())
        except OSError as exc:
            raise ConfigError(f"cannot read {config_path}: {exc.strerror}") from None
        except ValueError as exc:
            raise ConfigError(f"{config_path} is not valid JSON: {exc}") from None
        if not isinstance(file_values, dict):
            raise ConfigError(f"{config_path} must hold a JSON object")
        source = str(config_path)
    values = {
        "url": url or os.environ.get(ENV_URL) or file_values.get("url"),
        "token": token or os.environ.get(ENV_TOKEN) or file_values.get("token"),
        "workspace": workspace or os.environ.get(ENV_WORKSPACE) or file_values.get("workspace"),
    }
    missing = [k for k, v in values.items() if not v]
    if missing:
        hints = {
            "url": f"{ENV_URL} or `studio folder attach --url`",
            "token": f"{ENV_TOKEN} (create one with `manage.py create_api_token`)",
            "workspace": f"{ENV_WORKSPACE} or `studio folder attach -w`",
        }
        where = source or "no config.json or .studio/config.json found from the current folder up"
        raise ConfigError(
            "missing "
            + ", ".join(missing)
            + f" ({where}); set "
            + "; ".join(hints[k] for k in missing)
        )
    return Settings(
        url=str(values["url"]).rstrip("/"),
        token=str(values["token"]),
        workspace=str(values["workspace"]),
        source=source,
    )


def write_folder_config(folder: Path, *, url: str, workspace: str, token: str | None) -> Path:
    """Write .studio/config.json in `folder` (owner-only when it holds a token)."""
    target_dir = folder / ".studio"
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / "config.json"
    data = {"url": url.rstrip("/"), "workspace": workspace}
    if token:
        data["token"] = token
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if token else 0o644)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)
        fh.write("\n")
    if token:
        os.chmod(target, 0o600)
    return target
