"""`studio alert create | list | delete`: alert rules, by email or webhook."""

from __future__ import annotations

import argparse
import re
from typing import Any

from runs.sdk.cli_common import Parser, UsageError, workspace_of

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


def add_parsers(groups: argparse._SubParsersAction, connected: Parser) -> None:
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


def create(args: argparse.Namespace) -> dict:
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
    return workspace_of(args).create_alert(**body)
