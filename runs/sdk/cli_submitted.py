"""`studio run submit-script`, `studio run logs` and `studio computetarget`: submitting
scripts, reading their output, and the compute targets they run on."""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path
from typing import Any

from runs.sdk.cli_common import Parser, UsageError, workspace_of
from runs.sdk.errors import NotFoundError
from runs.sdk.heartbeat import TERMINAL
from runs.sdk.logs import STD_LOG, LogTail
from runs.sdk.script import ScriptRunConfig
from runs.sdk.workspace import Experiment

# How often `studio run logs --follow` asks for new output.
FOLLOW_POLL = 0.5


def add_parsers(
    run: argparse._SubParsersAction, groups: argparse._SubParsersAction, connected: Parser
) -> None:
    """`run submit-script`, `run logs` and the `computetarget` group."""
    submit = run.add_parser(
        "submit-script",
        parents=[connected],
        help="run a script of this folder on a compute target (the folder is uploaded)",
    )
    submit.add_argument("-e", "--experiment-name", required=True, metavar="NAME")
    submit.add_argument(
        "-t", "--target", default="local", metavar="TARGET", help="compute target (default: local)"
    )
    submit.add_argument(
        "-c",
        "--run-configuration-name",
        metavar="NAME",
        help="accepted for compatibility with `az ml run submit-script`; not used",
    )
    submit.add_argument(
        "--source-directory",
        type=Path,
        default=Path("."),
        help="the folder to upload and run from (default: the current one)",
    )
    submit.add_argument("script", metavar="SCRIPT", help="the script, relative to the folder")
    submit.add_argument(
        "arguments", nargs=argparse.REMAINDER, metavar="ARGS", help="the script's arguments"
    )

    logs = run.add_parser("logs", parents=[connected], help="a run's output (its std log)")
    logs.add_argument("-r", "--run", required=True, metavar="RUN_ID")
    logs.add_argument(
        "-f", "--follow", action="store_true", help="keep printing as it grows, until the run ends"
    )
    logs.add_argument("--name", default=STD_LOG, help=f"which log (default: {STD_LOG})")

    target = groups.add_parser("computetarget", help="compute targets").add_subparsers(
        dest="command", metavar="{list,create,delete}"
    )
    target.required = True
    target.add_parser("list", parents=[connected], help="the workspace's compute targets")
    target_create = target.add_parser(
        "create", parents=[connected], help="add a compute target (workspace owners)"
    )
    target_create.add_argument("-n", "--name", required=True)
    target_create.add_argument(
        "--executor",
        choices=["local", "celery"],
        default="local",
        help="local: the studio's runworker; celery: workers consuming the queue NAME",
    )
    target_create.add_argument("--description", default="")
    target_delete = target.add_parser(
        "delete", parents=[connected], help="remove a compute target (workspace owners)"
    )
    target_delete.add_argument("-n", "--name", required=True)


def submit_script(args: argparse.Namespace) -> dict:
    if not (args.source_directory / args.script).is_file():
        raise UsageError(f"no script {args.script!r} in {str(args.source_directory)!r}")
    arguments = args.arguments[1:] if args.arguments[:1] == ["--"] else args.arguments
    experiment = Experiment(workspace=workspace_of(args), name=args.experiment_name)
    config = ScriptRunConfig(
        source_directory=args.source_directory,
        script=args.script,
        arguments=arguments,
        compute_target=args.target,
    )
    return experiment.submit(config)._doc


def run_logs(args: argparse.Namespace) -> None:
    """Print the log to stdout (raw text, not JSON), following it with --follow."""
    ws = workspace_of(args)
    run = ws.get_run(args.run)
    tail = LogTail(ws._client, run._path(), args.name)
    while True:
        status = run.get_status() if args.follow else None
        text = tail.read()
        if text:
            sys.stdout.write(text)
            sys.stdout.flush()
        if not args.follow or status in TERMINAL:
            if not args.follow and tail.offset == 0 and args.name not in run.get_file_names():
                raise NotFoundError(f"run {run.id} has no log {args.name!r} (yet)")
            return
        threading.Event().wait(FOLLOW_POLL)


def targets(args: argparse.Namespace) -> Any:
    ws = workspace_of(args)
    client = ws._client
    match args.command:
        case "list":
            return client.json("GET", client.ws_path("/compute-targets"))["computeTargets"]
        case "create":
            body = {"name": args.name, "executor": args.executor, "description": args.description}
            return client.json(
                "POST", client.ws_path("/compute-targets"), json_body=body, retry="unsent"
            )
        case "delete":
            client.request("DELETE", client.ws_path(f"/compute-targets/{args.name}"))
            return {"deleted": args.name}
    raise UsageError(f"unknown command computetarget {args.command}")
