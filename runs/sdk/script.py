"""What to submit (ScriptRunConfig) and where it runs (ComputeTarget)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from runs.sdk.names import check_name

LOCAL = "local"


@dataclass(frozen=True)
class ComputeTarget:
    """A workspace's compute target: `local` (the studio's worker) or `celery` (a queue
    that workers on other machines consume); `ws.compute_targets["gpu-cluster"]`."""

    name: str
    executor: str = "local"
    description: str = ""

    @classmethod
    def from_document(cls, document: dict) -> ComputeTarget:
        return cls(
            name=document["name"],
            executor=document.get("executor", "local"),
            description=document.get("description", ""),
        )


@dataclass
class ScriptRunConfig:
    """A script to run as a run: `exp.submit(ScriptRunConfig(source_directory=".",
    script="train.py", arguments=["--lr", 0.01], compute_target="local"))`.

    The whole `source_directory` is uploaded (see runs.sdk.snapshot, `.studioignore`)
    and the script runs from it, with `arguments` as its command line.
    `compute_target` is a ComputeTarget or its name (default: local).
    """

    source_directory: str | os.PathLike = "."
    script: str | None = None
    arguments: list[Any] = field(default_factory=list)
    compute_target: ComputeTarget | str | None = None
    display_name: str | None = None

    def __post_init__(self) -> None:
        if not self.script or not isinstance(self.script, str):
            raise ValueError("ScriptRunConfig needs script=, the file to run (e.g. 'train.py')")
        if self.arguments is None:
            self.arguments = []
        if isinstance(self.arguments, str | bytes):
            raise TypeError("arguments must be a list, e.g. ['--fruit', 'Apple']")
        self.arguments = list(self.arguments)

    @property
    def target(self) -> str:
        target = self.compute_target
        if target is None:
            return LOCAL
        name = target.name if isinstance(target, ComputeTarget) else target
        return check_name("compute target", name)

    def spec(self, experiment: str | None = None) -> dict[str, Any]:
        """The submission as the API takes it."""
        spec: dict[str, Any] = {
            "script": self.script,
            "arguments": [str(a) for a in self.arguments],
            "target": self.target,
        }
        if experiment is not None:
            spec["experiment"] = experiment
        if self.display_name:
            spec["displayName"] = self.display_name
        return spec
