"""`studio`: the command line for Run History Studio (also `python -m runs.sdk`).

Every command prints JSON (the API's documents) and takes `--query JMESPATH`,
applied to that JSON. Errors: one line on stderr and a non-zero exit status
(1: the studio or the configuration refused, 2: bad command line).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError

from runs.sdk import cli_alerts, cli_submitted, config
from runs.sdk.cli_common import Parser, UsageError, workspace_of
from runs.sdk.errors import NotFoundError, StudioError
from runs.sdk.workspace import Run, Workspace

EXIT_ERROR = 1
EXIT_USAGE = 2


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

    cli_alerts.add_parsers(groups, connected)

    cli_submitted.add_parsers(run, groups, connected)

    view = groups.add_parser("view", help="saved views of the run list").add_subparsers(
        dest="command", metavar="{list}"
    )
    view.required = True
    view.add_parser("list", parents=[connected], help="your views, then the shared ones")
    return parser


def _run_events(args: argparse.Namespace) -> list[dict]:
    if args.limit < 1:
        raise UsageError(f"--limit must be at least 1, not {args.limit}")
    events = workspace_of(args).iter_status_events(
        experiment=args.experiment_name,
        status=args.status or None,
        run_id=args.run,
        since=args.since,
        page_size=min(args.limit, 500),
    )
    return list(itertools.islice(events, args.limit))


def _run(args: argparse.Namespace) -> Run:
    """The run -r names, in the experiment -e names if given."""
    run = workspace_of(args).get_run(args.run)
    given = getattr(args, "experiment_name", None)
    if given is not None and run.experiment.name != given:
        raise NotFoundError(
            f"run {args.run!r} is in experiment {run.experiment.name!r}, not {given!r}"
        )
    return run


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
    ws = workspace_of(args)
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


def run_command(args: argparse.Namespace) -> Any:
    """The JSON the command prints."""
    match (args.group, args.command):
        case ("folder", "attach"):
            return _attach(args)
        case ("experiment", "list"):
            return workspace_of(args).list_experiments()
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
            return cli_submitted.submit_script(args)
        case ("run", "logs"):
            return cli_submitted.run_logs(args)
        case ("computetarget", _):
            return cli_submitted.targets(args)
        case ("view", "list"):
            return _views(workspace_of(args))
        case ("alert", "create"):
            return cli_alerts.create(args)
        case ("alert", "list"):
            return workspace_of(args).list_alerts()
        case ("alert", "delete"):
            workspace_of(args).delete_alert(args.id)
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
