"""What the `studio` commands share: their errors, their parser, the workspace they act on."""

from __future__ import annotations

import argparse
from typing import NoReturn

from runs.sdk.workspace import Workspace


class UsageError(Exception):
    """A command line that cannot be run (exit status 2)."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr, like every other error."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def workspace_of(args: argparse.Namespace) -> Workspace:
    """The configured workspace, or the one `-w` names with the same studio and token."""
    ws = Workspace.from_config()
    if args.workspace_name and args.workspace_name != ws.name:
        ws = Workspace(ws.url, ws._client.token, args.workspace_name)
    return ws
