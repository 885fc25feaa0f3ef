"""`studio`: the command line for Run History Studio (also `python -m runs.sdk`).

Every command prints JSON (the API's documents) and takes `--query JMESPATH`,
applied to that JSON. Errors: one line on stderr and a non-zero exit status
(1: the studio or the configuration refused, 2: bad command line).
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

import jmespath
from jmespath.exceptions import JMESPathError

from runs.sdk import config
from runs.sdk.errors import NotFoundError, StudioError
from runs.sdk.heartbeat import TERMINAL
from runs.sdk.logs import STD_LOG, LogTail
from runs.sdk.script import ScriptRunConfig
from runs.sdk.workspace import Experiment, Run, Workspace

# How often `studio run logs --follow` asks for new output.
FOLLOW_POLL = 0.5

EXIT_ERROR = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """A command line that cannot be run (exit status 2)."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr, like every other error."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _key_value(text: str) -> tuple[str, str | None]:
    """`quality=fantastic run` -> ("quality", "fantastic run"); `flagged` -> ("flagged", None)."""
    key, sep, value = text.partition("=")
    if not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY or KEY=VALUE, not {text!r}")
    return key, value if sep else None


def build_parser() -> Parser:
    common = Parser(add_help=False)
    common.add_argument(
        "--query", metavar="JMESPATH", help="JMESPath query applied to the JSON output"
    )
    connected = Parser(add_help=False, parents=[common])
    connected.add_argument(
        "-w",
        "--workspace-name",
        metavar="WORKSPACE",
        help="workspace (default: the config file, or STUDIO_WORKSPACE)",
    )

    parser = Parser(
        prog="studio",
        description="Run History Studio from the command line: every command prints JSON.",
    )
    groups = parser.add_subparsers(
        dest="group", metavar="{folder,experiment,run,view,alert,computetarget}"
    )
    groups.required = True

    folder = groups.add_parser("folder", help="this folder's link to a studio").add_subparsers(
        dest="command", metavar="{attach}"
    )
    folder.required = True
    attach = folder.add_parser(
        "attach", parents=[common], help="write .studio/config.json in this folder"
    )
    attach.add_argument("-w", "--workspace-name", required=True, metavar="WORKSPACE")
    attach.add_argument("--url", required=True, help="the studio, e.g. http://127.0.0.1:8000")
    attach.add_argument(
        "--token", help="API token to store in the file (else STUDIO_TOKEN is used)"
    )
    attach.add_argument(
        "--path", type=Path, default=Path("."), help="folder to attach (default: the current)"
    )

    experiment = groups.add_parser("experiment", help="experiments").add_subparsers(
        dest="command", metavar="{list}"
    )
    experiment.required = True
    experiment.add_parser("list", parents=[connected], help="the workspace's experiments")

    run = groups.add_parser("run", help="runs").add_subparsers(
        dest="command", metavar="{list,show,cancel,update,events,submit-script,logs}"
    )
    run.required = True
    run_list = run.add_parser("list", parents=[connected], help="runs, newest first")
    run_list.add_argument(
        "-e",
        "--experiment-name",
        metavar="NAME",
        help="the experiment (default: the whole workspace; or give --view)",
    )
    run_list.add_argument(
        "--view",
        metavar="NAME",
        help="the runs of a saved view, in its order (yours first, then shared ones; "
        "an id also works)",
    )
    run_list.add_argument(
        "--status", action="append", default=[], help="a status (repeat for several)"
    )
    run_list.add_argument(
        "--tag",
        action="append",
        default=[],
        type=_key_value,
        metavar="KEY[=VALUE]",
        help="tag KEY equals VALUE, or just exists (repeat: all must match)",
    )
    run_list.add_argument(
        "--filter", metavar="EXPR", help='filter language, e.g. "metrics.acc >= 0.9"'
    )
    run_list.add_argument(
        "--include-children", action="store_true", help="children too, not only top-level runs"
    )
    run_list.add_argument(
        "--limit", type=int, metavar="N", help="at most N runs (default: every match)"
    )

    one_run = Parser(add_help=False, parents=[connected])
    one_run.add_argument("-r", "--run", required=True, metavar="RUN_ID")
    one_run.add_argument(
        "-e",
        "--experiment-name",
        metavar="NAME",
        help="the run's experiment (optional: checked against the run's)",
    )
    for name, text in (("show", "a run's document"), ("cancel", "cancel a run")):
        run.add_parser(name, parents=[one_run], help=text)

    update = run.add_parser("update", parents=[one_run], help="change tags and description")
    update.add_argument(
        "--add-tag",
        action="append",
        default=[],
        type=_key_value,
        metavar="KEY[=VALUE]",
        help="set a tag (a key alone: a key-only tag); repeat for several",
    )
    update.add_argument("--remove-tag", action="append", default=[], metavar="KEY")
    update.add_argument("--description", metavar="TEXT", help="markdown description")
    update.add_argument("--display-name", metavar="NAME")

    events = run.add_parser(
        "events", parents=[connected], help="the workspace's status changes, newest first"
    )
    events.add_argument("-e", "--experiment-name", metavar="NAME")
    events.add_argument(
        "--status", action="append", default=[], help="the new status (repeat for several)"
    )
    events.add_argument("-r", "--run", metavar="RUN_ID", help="this run and its descendants")
    events.add_argument("--since", metavar="TIME", help="ISO 8601, e.g. 2026-11-28T16:00:00Z")
    events.add_argument("--limit", type=int, default=100, metavar="N", help="at most N (100)")

    _alert_parsers(groups, connected)

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

    view = groups.add_parser("view", help="saved views of the run list").add_subparsers(
        dest="command", metavar="{list}"
    )
    view.required = True
    view.add_parser("list", parents=[connected], help="your views, then the shared ones")
    return parser


ALERT_STATUSES = ("Completed", "Failed", "Canceled")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _alert_status(text: str) -> str:
    for status in ALERT_STATUSES:
        if text.strip().lower() == status.lower():
            return status
    raise argparse.ArgumentTypeError(
        f"unknown status {text!r}: an alert reports {', '.join(ALERT_STATUSES)}"
    )


def _email(text: str) -> str:
    if not _EMAIL.match(text.strip()):
        raise argparse.ArgumentTypeError(f"{text!r} is not an email address")
    return text.strip()


def _webhook(text: str) -> str:
    if not text.startswith(("http://", "https://")) or len(text) < 10:
        raise argparse.ArgumentTypeError(f"{text!r} is not an http:// or https:// URL")
    return text


def _alert_parsers(groups: argparse._SubParsersAction, connected: Parser) -> None:
    alert = groups.add_parser("alert", help="alert rules: email or webhooks").add_subparsers(
        dest="command", metavar="{create,list,delete}"
    )
    alert.required = True
    create = alert.add_parser(
        "create",
        parents=[connected],
        help="a rule: email or a webhook when runs end with a status",
    )
    create.add_argument("-e", "--experiment", metavar="NAME", help="runs of this experiment")
    create.add_argument(
        "--status",
        action="append",
        default=[],
        type=_alert_status,
        help="Completed, Failed or Canceled (repeat for several)",
    )
    who = create.add_mutually_exclusive_group(required=True)
    who.add_argument(
        "--email", action="append", type=_email, metavar="ADDRESS", help="repeat for several"
    )
    who.add_argument("--webhook", type=_webhook, metavar="URL", help="JSON POST to this URL")
    create.add_argument("--filter", metavar="TEXT", help="filter language, tested on the run")
    create.add_argument("-r", "--run", metavar="RUN_ID", help="this run and its descendants")
    create.add_argument("--mine", action="store_true", help="only runs you submitted")
    create.add_argument("--name", metavar="NAME", help="default: made from the events")
    create.add_argument(
        "--personal",
        action="store_true",
        help="a personal rule (emails only you); the default for everyone but owners",
    )
    create.add_argument("--running-hours", type=int, metavar="N", help="running longer than N h")
    create.add_argument(
        "--no-heartbeat-minutes", type=int, metavar="N", help="no heartbeat for N minutes"
    )
    alert.add_parser("list", parents=[connected], help="the workspace's rules and yours")
    delete = alert.add_parser("delete", parents=[connected], help="delete a rule")
    delete.add_argument("id", type=int, metavar="ID")


def _alert_create(args: argparse.Namespace) -> dict:
    if not (args.status or args.running_hours or args.no_heartbeat_minutes):
        raise UsageError(
            "give --status (Completed, Failed, Canceled), --running-hours or --no-heartbeat-minutes"
        )
    body: dict[str, Any] = {"statuses": list(dict.fromkeys(args.status))}
    optional = {
        "experiment": args.experiment,
        "filter": args.filter,
        "runId": args.run,
        "name": args.name,
        "webhook": args.webhook,
        "runningLongerThanHours": args.running_hours,
        "noHeartbeatMinutes": args.no_heartbeat_minutes,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    if args.email:
        body["emails"] = args.email
    if args.mine:
        body["submittedByMe"] = True
    if args.personal:
        body["scope"] = "personal"
    return _workspace(args).create_alert(**body)


def _run_events(args: argparse.Namespace) -> list[dict]:
    if args.limit < 1:
        raise UsageError(f"--limit must be at least 1, not {args.limit}")
    events = _workspace(args).iter_status_events(
        experiment=args.experiment_name,
        status=args.status or None,
        run_id=args.run,
        since=args.since,
        page_size=min(args.limit, 500),
    )
    return list(itertools.islice(events, args.limit))


def _run(args: argparse.Namespace) -> Run:
    """The run -r names, in the experiment -e names if given."""
    run = _workspace(args).get_run(args.run)
    given = getattr(args, "experiment_name", None)
    if given is not None and run.experiment.name != given:
        raise NotFoundError(
            f"run {args.run!r} is in experiment {run.experiment.name!r}, not {given!r}"
        )
    return run


def _workspace(args: argparse.Namespace) -> Workspace:
    ws = Workspace.from_config()
    if args.workspace_name and args.workspace_name != ws.name:
        ws = Workspace(ws.url, ws._client.token, args.workspace_name)
    return ws


def _attach(args: argparse.Namespace) -> dict:
    if not args.path.is_dir():
        raise UsageError(f"--path {args.path} is not a directory")
    path = config.write(
        args.path.resolve(), url=args.url, workspace=args.workspace_name, token=args.token
    )
    out: dict[str, Any] = {"path": str(path), "url": args.url, "workspace": args.workspace_name}
    out["token"] = "stored (file readable by you only)" if args.token else None
    return out


def _views(ws: Workspace, name: str | None = None) -> list[dict]:
    params = [("name", name)] if name is not None else None
    return ws._client.json("GET", ws._client.ws_path("/views"), params=params)["views"]


def _find_view(ws: Workspace, name: str) -> dict:
    """The view called `name`: the caller's own first, then a shared one; an id works too."""
    views = _views(ws, name)
    mine = [v for v in views if v["mine"]]
    if mine:
        return mine[0]  # a name is unique among one owner's views
    if len(views) == 1:
        return views[0]
    if views:
        choices = ", ".join(f"{v['id']} (by {v['owner']})" for v in views)
        raise StudioError(
            code="AmbiguousView",
            message=f"{len(views)} shared views are named {name!r}: {choices}; "
            "give --view the id of the one you mean",
        )
    if name.isdigit():
        return ws._client.json("GET", ws._client.ws_path(f"/views/{name}"))
    raise NotFoundError(f"no view named {name!r} in workspace {ws.name!r} (see `studio view list`)")


def _run_list_view(args: argparse.Namespace, ws: Workspace) -> Iterator[Run]:
    others = {
        "--experiment-name": args.experiment_name is not None,
        "--status": bool(args.status),
        "--tag": bool(args.tag),
        "--filter": args.filter is not None,
        "--include-children": args.include_children,
    }
    given = [flag for flag, used in others.items() if used]
    if given:
        raise UsageError(
            f"--view lists the view's runs as saved: it cannot be combined with {given[0]}"
        )
    view = _find_view(ws, args.view)
    path = ws._client.ws_path(f"/views/{view['id']}/runs")
    return ws._runs_of(path, [], min(args.limit or 500, 500))


def _run_list(args: argparse.Namespace) -> list[dict]:
    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit must be at least 1, not {args.limit}")
    ws = _workspace(args)
    if args.view is not None:
        runs = _run_list_view(args, ws)
    else:
        runs = ws.iter_runs(
            experiment=args.experiment_name,
            tags=dict(args.tag) or None,
            status=args.status or None,
            filter=args.filter,
            include_children=args.include_children,
            page_size=min(args.limit or 500, 500),
        )
    out = []
    for run in runs:
        out.append(run._doc)
        if args.limit is not None and len(out) >= args.limit:
            break
    return out


def _run_update(args: argparse.Namespace) -> dict:
    changes_nothing = args.description is None and args.display_name is None
    if not (args.add_tag or args.remove_tag) and changes_nothing:
        raise UsageError(
            "nothing to update: give --add-tag, --remove-tag, --description or --display-name"
        )
    run = _run(args)
    if args.add_tag or args.remove_tag:
        body: dict[str, Any] = {}
        if args.add_tag:
            body["set"] = dict(args.add_tag)
        if args.remove_tag:
            body["remove"] = args.remove_tag
        run._tags_patch(body)
    changes = {}
    if args.description is not None:
        changes["description"] = args.description
    if args.display_name is not None:
        changes["displayName"] = args.display_name
    if changes:
        run._update(changes)
        return run._doc
    return run.get_details(log_files=False)


def _submit_script(args: argparse.Namespace) -> dict:
    if not (args.source_directory / args.script).is_file():
        raise UsageError(f"no script {args.script!r} in {str(args.source_directory)!r}")
    arguments = args.arguments[1:] if args.arguments[:1] == ["--"] else args.arguments
    experiment = Experiment(workspace=_workspace(args), name=args.experiment_name)
    config = ScriptRunConfig(
        source_directory=args.source_directory,
        script=args.script,
        arguments=arguments,
        compute_target=args.target,
    )
    return experiment.submit(config)._doc


def _run_logs(args: argparse.Namespace) -> None:
    """Print the log to stdout (raw text, not JSON), following it with --follow."""
    ws = _workspace(args)
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


def _targets(args: argparse.Namespace) -> Any:
    ws = _workspace(args)
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


def run_command(args: argparse.Namespace) -> Any:
    """The JSON the command prints."""
    match (args.group, args.command):
        case ("folder", "attach"):
            return _attach(args)
        case ("experiment", "list"):
            return _workspace(args).list_experiments()
        case ("run", "list"):
            return _run_list(args)
        case ("run", "show"):
            return _run(args)._doc
        case ("run", "cancel"):
            run = _run(args)
            run.cancel()
            return run._doc
        case ("run", "update"):
            return _run_update(args)
        case ("run", "events"):
            return _run_events(args)

        case ("run", "submit-script"):
            return _submit_script(args)
        case ("run", "logs"):
            return _run_logs(args)
        case ("computetarget", _):
            return _targets(args)
        case ("view", "list"):
            return _views(_workspace(args))
        case ("alert", "create"):
            return _alert_create(args)
        case ("alert", "list"):
            return _workspace(args).list_alerts()
        case ("alert", "delete"):
            _workspace(args).delete_alert(args.id)
            return {"deleted": args.id}
    raise UsageError(f"unknown command {args.group} {args.command}")


def _fail(message: str, status: int) -> int:
    one_line = " ".join(str(message).split())
    print(f"studio: error: {one_line}", file=sys.stderr)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line `argv` (default sys.argv[1:]); returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
        query = jmespath.compile(args.query) if args.query else None
        result = run_command(args)
        if args.group == "run" and args.command == "logs":
            return 0
        if query is not None:
            result = query.search(result)
    except UsageError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except JMESPathError as exc:
        return _fail(f"--query: {exc}", EXIT_USAGE)
    except StudioError as exc:
        return _fail(str(exc), EXIT_ERROR)
    except OSError as exc:
        return _fail(str(exc), EXIT_ERROR)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
