"""The `studio` command: JSON in the shape of the API's run documents, `--query` JMESPath."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import jmespath
import jmespath.exceptions

from runs.sdk import config
from runs.sdk.errors import StudioError
from runs.sdk.http import Http
from runs.sdk.run import filter_params


class CliError(Exception):
    """A usage problem the CLI reports in one line."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="studio", description="Run History Studio from the command line (prints JSON)."
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--query", help="JMESPath expression applied to the JSON output")
    common.add_argument("-w", "--workspace", help="workspace (default: config / STUDIO_WORKSPACE)")
    common.add_argument("--url", help="studio URL (default: config / STUDIO_URL)")
    common.add_argument("--token", help="API token (default: config / STUDIO_TOKEN)")
    groups = parser.add_subparsers(dest="group", required=True, metavar="{folder,experiment,run}")

    folder = groups.add_parser("folder", help="this folder's studio settings")
    folder_cmds = folder.add_subparsers(dest="command", required=True)
    attach = folder_cmds.add_parser(
        "attach", parents=[common], help="write .studio/config.json for this folder"
    )
    attach.set_defaults(handler=cmd_folder_attach)

    experiment = groups.add_parser("experiment", help="experiments")
    experiment_cmds = experiment.add_subparsers(dest="command", required=True)
    experiment_cmds.add_parser("list", parents=[common], help="list experiments").set_defaults(
        handler=cmd_experiment_list
    )

    run = groups.add_parser("run", help="runs")
    run_cmds = run.add_subparsers(dest="command", required=True)
    run_list = run_cmds.add_parser("list", parents=[common], help="list runs, newest first")
    run_list.add_argument("-e", "--experiment-name", help="only this experiment's runs")
    run_list.add_argument("--status", action="append", help="only runs in this status (repeat)")
    run_list.add_argument("--tag", action="append", help="k=v or k (repeat)")
    run_list.add_argument("--filter", help='filter language, e.g. "metrics.acc >= 0.9"')
    run_list.add_argument("--include-children", action="store_true")
    run_list.add_argument("--max-items", type=int, default=100, help="at most this many runs")
    run_list.set_defaults(handler=cmd_run_list)

    for name, handler, helptext in (
        ("show", cmd_run_show, "one run's document"),
        ("cancel", cmd_run_cancel, "cancel a run and its unfinished children"),
    ):
        sub = run_cmds.add_parser(name, parents=[common], help=helptext)
        sub.add_argument("-r", "--run", required=True, dest="run_id", help="run id")
        sub.set_defaults(handler=handler)

    update = run_cmds.add_parser("update", parents=[common], help="change tags and the description")
    update.add_argument("-r", "--run", required=True, dest="run_id", help="run id")
    update.add_argument("--add-tag", action="append", default=[], help="k=v or k (repeat)")
    update.add_argument("--remove-tag", action="append", default=[], help="key (repeat)")
    update.add_argument("--description", help="markdown description")
    update.add_argument("--display-name", help="display name")
    update.set_defaults(handler=cmd_run_update)
    return parser


# -- commands ------------------------------------------------------------------------------


def cmd_folder_attach(args: argparse.Namespace) -> Any:
    if not args.workspace or not args.url:
        raise CliError("folder attach needs -w WORKSPACE and --url URL")
    target = config.write_folder_config(
        Path.cwd(), url=args.url, workspace=args.workspace, token=args.token
    )
    return {"config": str(target), "url": args.url.rstrip("/"), "workspace": args.workspace}


def cmd_experiment_list(args: argparse.Namespace) -> Any:
    http, ws = _connect(args)
    return http.get(f"/w/{ws}/experiments")["experiments"]


def cmd_run_list(args: argparse.Namespace) -> Any:
    http, ws = _connect(args)
    if args.max_items < 1:
        raise CliError("--max-items must be at least 1")
    params = filter_params(tags=args.tag, status=args.status)
    if args.experiment_name:
        params["experiment"] = args.experiment_name
    if args.filter:
        params["filter"] = args.filter
    if args.include_children:
        params["includeChildren"] = "true"
    runs: list = []
    page = 1
    while len(runs) < args.max_items:
        per_page = min(500, args.max_items - len(runs))
        answer = http.get(f"/w/{ws}/runs", params={**params, "page": page, "perPage": per_page})
        runs += answer["runs"]
        if not answer["hasMore"]:
            break
        page += 1
    return runs[: args.max_items]


def cmd_run_show(args: argparse.Namespace) -> Any:
    http, ws = _connect(args)
    return http.get(f"/w/{ws}/runs/{args.run_id}")


def cmd_run_cancel(args: argparse.Namespace) -> Any:
    http, ws = _connect(args)
    return http.post(f"/w/{ws}/runs/{args.run_id}/cancel", {})


def cmd_run_update(args: argparse.Namespace) -> Any:
    if not (args.add_tag or args.remove_tag or args.description is not None or args.display_name):
        raise CliError("nothing to update: give --add-tag, --remove-tag or --description")
    http, ws = _connect(args)
    path = f"/w/{ws}/runs/{args.run_id}"
    if args.add_tag or args.remove_tag:
        tags = {}
        for spec in args.add_tag:
            key, sep, value = spec.partition("=")
            if not key:
                raise CliError(f"--add-tag {spec!r}: the key is empty")
            tags[key] = value if sep else None
        http.patch(f"{path}/tags", {"set": tags, "remove": args.remove_tag})
    fields = {}
    if args.description is not None:
        fields["description"] = args.description
    if args.display_name is not None:
        fields["displayName"] = args.display_name
    if fields:
        return http.patch(path, fields)
    return http.get(path)


def _connect(args: argparse.Namespace) -> tuple[Http, str]:
    settings = config.load(url=args.url, token=args.token, workspace=args.workspace)
    return Http(settings.url, settings.token, retries=2), settings.workspace


# -- entry point ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run one command; print its JSON, or one line on stderr and exit non-zero."""
    args = _parser().parse_args(argv)
    try:
        result = args.handler(args)
        if args.query:
            result = jmespath.search(args.query, result)
    except jmespath.exceptions.JMESPathError as exc:
        print(f"studio: bad --query: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    except (StudioError, CliError) as exc:
        print(f"studio: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
