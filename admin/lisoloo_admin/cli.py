"""``lisoloo-admin`` (or ``python -m lisoloo_admin``): organizations, app-keys and their settings.

One code path for AWS and for the local stack; where it acts comes from the environment:

* ``--stack NAME``: the CloudFormation stack's outputs name the table, the default usage plan,
  the REST API and its stage. In AWS that is the deployed stack (``lisoloo-sms-api-prod``);
  locally, ``AWS_ENDPOINT_URL`` set to the moto URL of the ``LISOLOO_LOCAL_READY`` line and
  ``--stack lisoloo-local``.
* ``--table NAME`` (or ``TABLE_NAME``): the table only, e.g. a test or a stack without usage plans.

Throttling lives in two places, kept in step here: the organization's item (the local gateway
reads it) and, when the stack has usage plans (AWS), API Gateway: every organization has an API
key whose value is its id (the authorizer's ``usageIdentifierKey``), in the default plan or in
a plan of its own when it has its own limits. Keys are shown once and stored as SHA-256 only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from lisoloo.errors import DomainError
from lisoloo.routing import CarrierType
from lisoloo_admin.money_admin import MoneyAdmin
from lisoloo_admin.operations import Admin
from lisoloo_admin.routing_admin import RoutingAdmin, carrier_config
from lisoloo_admin.target import AdminError, resolve_target
from lisoloo_admin.two_way import TwoWayAdmin

JSON_HELP = "print JSON instead of text (before or after the command)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lisoloo-admin",
        description="Organizations, app-keys, carriers and routes, in AWS or on the local stack.",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--stack", help="CloudFormation stack name (its outputs name the table and usage plan)")
    where.add_argument("--table", help="the SMS table's name (default: $TABLE_NAME); no usage plans")
    parser.add_argument("--json", action="store_true", help=JSON_HELP)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    create = commands.add_parser("create-org", help="a new organization and its first app-key")
    create.add_argument("name")
    create.add_argument("--country", default="KE", help="reads national-format numbers (default KE)")
    create.add_argument("--webhook-url", help="https URL the organization's events are POSTed to")
    create.add_argument("--label", help="a note on the first key, e.g. 'production server'")

    _action(commands, "show", "an organization's settings and keys", "org_id")

    keys = commands.add_parser("keys", help="app-keys: list, issue, rotate, revoke")
    key_commands = keys.add_subparsers(dest="key_command", required=True, metavar="ACTION")
    _action(key_commands, "list", "key ids, hints and dates (never the keys)", "org_id")
    _action(key_commands, "issue", "a new key, shown once", "org_id").add_argument("--label")
    rotate = _action(key_commands, "rotate", "a new key; the old one stops after --grace-seconds", "org_id", "key_id")
    rotate.add_argument("--grace-seconds", type=_whole_number, default=0)
    _action(key_commands, "revoke", "the key stops working (within the authorizer cache, 5 min)", "org_id", "key_id")

    webhook = _action(commands, "set-webhook", "the webhook URL (its signing secret is shown the first time)", "org_id")
    webhook.add_argument("url", nargs="?")
    webhook.add_argument("--clear", action="store_true", help="stop sending webhooks")

    _action(commands, "set-country", "the default country for national-format numbers", "org_id", "country")

    senders = _action(commands, "set-sender-ids", "sender ids the organization may use (first = default)", "org_id")
    senders.add_argument("sender_ids", nargs="*", help="none: any sender id")

    limit = _action(commands, "rate-limit", "the organization's own throttle, or back to the default plan", "org_id")
    limit.add_argument("--rate", type=_whole_number, help="requests per second")
    limit.add_argument("--burst", type=_whole_number, help="requests at once above the rate")
    limit.add_argument("--default", action="store_true", help="back to the default usage plan")

    carrier = commands.add_parser(
        "register-carrier", help="a carrier's receipt token, shown once (replaces the previous one)"
    )
    carrier.add_argument("carrier", help="the connector's name: kannel, jasmin, the generic carrier's name")

    numbers = commands.add_parser("numbers", help="inbound numbers: assign, list, release (DESIGN §9)")
    number_commands = numbers.add_subparsers(dest="number_command", required=True, metavar="ACTION")
    assign = _action(number_commands, "assign", "a dedicated number, or a shared short code's keyword", "org_id")
    assign.add_argument("number", nargs="?", help="a dedicated number, e.g. +254711000222")
    assign.add_argument("--short-code", help="a shared short code, e.g. 22384 (with --keyword)")
    assign.add_argument("--keyword", help="the first word of replies to the short code that are this organization's")
    _action(number_commands, "list", "an organization's numbers and keywords", "org_id")
    release = _action(number_commands, "release", "the organization stops receiving on it", "org_id")
    release.add_argument("number", help="the number, or the short code (with --keyword)")
    release.add_argument("--keyword")

    words = _action(
        commands, "set-keywords", "the organization's own STOP/START/HELP words and replies (replaces them)", "org_id"
    )
    words.add_argument("--stop", nargs="*", default=[], help="extra opt-out words, e.g. ACHA")
    words.add_argument("--start", nargs="*", default=[], help="extra opt-in words, e.g. ANZA")
    words.add_argument("--help-words", nargs="*", default=[], help="extra help words, e.g. MSAADA")
    words.add_argument("--stop-reply", help="sent back after an opt-out (none by default)")
    words.add_argument("--start-reply", help="sent back after an opt-in (none by default)")
    words.add_argument("--help-reply", help="sent back to HELP (none by default)")
    _routing_commands(commands)

    replay = commands.add_parser(
        "replay-dlq", help="move a dead-letter queue's messages back to their queue (needs --stack)"
    )
    replay.add_argument("queue", help="dispatch, receipts or webhook-deliveries")
    replay.add_argument("--max", type=_whole_number, default=1_000, help="at most this many messages (default 1000)")
    replay.add_argument("--dry-run", action="store_true", help="list them with their context; move nothing")
    _accept_json_after_commands(parser)
    return parser


def _routing_commands(commands: Any) -> None:
    """carriers add|list|disable|enable, routes set|list|delete, messages show (DESIGN §8)."""
    carriers = commands.add_parser("carriers", help="carriers as data: add, list, disable, enable")
    carrier_commands = carriers.add_subparsers(dest="carrier_command", required=True, metavar="ACTION")
    add = carrier_commands.add_parser("add", help="a new carrier; its receipt token is shown once")
    add.add_argument("name", help="lowercase letters, digits, - and _; it names the receipts path and secrets")
    add.add_argument("--type", required=True, choices=[kind.value for kind in CarrierType])
    add.add_argument("--url", default="", help="submit URL (Kannel sendsms, Jasmin /send, the sandbox's base URL)")
    add.add_argument("--username", default="", help="Kannel sendsms-user or Jasmin user (password in the secrets)")
    add.add_argument("--smsc", default="", help="Kannel: the smsc-id to route through")
    add.add_argument("--auth-header", default="Authorization", help="http: the header carrying the credential")
    add.add_argument("--mapping", default="", help="http: the field mapping as JSON (carriers/generic.py)")
    add.add_argument("--tps", type=_whole_number, help="submissions per second at most, across all dispatchers")
    carrier_commands.add_parser("list", help="every configured carrier")
    for action in ("disable", "enable"):
        _action(carrier_commands, action, f"{action} a carrier (receipts keep working)", "name")

    routes = commands.add_parser("routes", help="which carriers serve which destinations")
    route_commands = routes.add_subparsers(dest="route_command", required=True, metavar="ACTION")
    route_set = route_commands.add_parser("set", help="MATCH CARRIER[:WEIGHT] ... (first by weight, rest failover)")
    route_set.add_argument("match", help="an E.164 prefix (+2547), an ISO country (KE) or *")
    route_set.add_argument("carriers", nargs="+", metavar="CARRIER[:WEIGHT]")
    route_set.add_argument("--org", help="for this organization only (wins over global routes)")
    _action(route_commands, "list", "every route (with --org: global and that org's)").add_argument("--org")
    _action(route_commands, "delete", "remove a route", "match").add_argument("--org")
    route_stats = route_commands.add_parser(
        "stats", help="route quality per carrier and country, and which carriers are demoted"
    )
    route_stats.add_argument("--carrier")
    route_stats.add_argument("--country", help="an ISO country (KE)")
    route_stats.add_argument("--hours", type=float, default=24.0, help="how far back (default 24)")

    _money_commands(commands)

    messages = commands.add_parser("messages", help="operator views of a message")
    message_commands = messages.add_subparsers(dest="message_command", required=True, metavar="ACTION")
    _action(message_commands, "show", "each recipient's carrier, attempts and times", "org_id", "message_id")


def _money_commands(commands: Any) -> None:
    prices = commands.add_parser("prices", help="the price per SMS segment of destinations (DESIGN §10)")
    price_commands = prices.add_subparsers(dest="price_command", required=True, metavar="ACTION")
    price_set = price_commands.add_parser("set", help="MATCH PRICE_PER_SEGMENT (MATCH as for routes)")
    price_set.add_argument("match", help="an E.164 prefix (+2547), an ISO country (KE) or *")
    price_set.add_argument("price", help="per segment, in the deployment's currency (0.80)")
    price_set.add_argument("--carrier", help="only when this carrier takes the message")
    price_commands.add_parser("list", help="every price")
    _action(price_commands, "delete", "remove a price", "match").add_argument("--carrier")

    balance = commands.add_parser("balance", help="an organization's prepaid account and its ledger")
    balance_commands = balance.add_subparsers(dest="balance_command", required=True, metavar="ACTION")
    for action, help_text in (
        ("top-up", "ORG AMOUNT --reference REF (once per reference)"),
        ("adjust", "ORG AMOUNT --reference REF (negative takes money out)"),
    ):
        change = _action(balance_commands, action, help_text, "org_id", "amount")
        change.add_argument("--reference", required=True, help="its id: the same reference applies once")
    _action(balance_commands, "credit-limit", "ORG LIMIT: how far below zero it may go", "org_id", "limit")
    _action(balance_commands, "daily-cap", "ORG AMOUNT|none: the most its sends reserve in a UTC day", "org_id", "cap")
    _action(
        balance_commands,
        "threshold",
        "ORG AMOUNT|none: account.balance_low fires once each time available falls below it",
        "org_id",
        "threshold",
    )
    for action in ("show", "ledger"):
        _action(balance_commands, action, f"{action} an organization's account", "org_id")


def _money_command(options: argparse.Namespace, admin: MoneyAdmin) -> Any:
    if options.command == "prices":
        action = options.price_command
        if action == "set":
            return admin.set_price(options.match, options.price, options.carrier)
        if action == "list":
            return admin.list_prices()
        return admin.delete_price(options.match, options.carrier)
    action = options.balance_command
    if action == "top-up":
        return admin.top_up(options.org_id, options.amount, options.reference)
    if action == "adjust":
        return admin.adjust(options.org_id, options.amount, options.reference)
    if action == "credit-limit":
        return admin.set_credit_limit(options.org_id, options.limit)
    if action == "daily-cap":
        return admin.set_daily_cap(options.org_id, options.cap)
    if action == "threshold":
        return admin.set_low_threshold(options.org_id, options.threshold)
    if action == "show":
        return admin.show(options.org_id)
    return admin.ledger(options.org_id)


def _routing_command(options: argparse.Namespace, admin: RoutingAdmin) -> Any:
    if options.command == "carriers":
        action = options.carrier_command
        if action == "add":
            return admin.add_carrier(
                carrier_config(
                    options.name,
                    options.type,
                    url=options.url,
                    username=options.username,
                    smsc=options.smsc,
                    auth_header=options.auth_header,
                    mapping=options.mapping,
                    tps=options.tps,
                )
            )
        if action == "list":
            return admin.list_carriers()
        return admin.set_carrier_enabled(options.name, action == "enable")
    if options.command == "routes":
        action = options.route_command
        if action == "set":
            return admin.set_route(options.match, options.carriers, options.org)
        if action == "list":
            return admin.list_routes(options.org)
        if action == "stats":
            return admin.route_stats(options.carrier, options.country, options.hours)
        return admin.delete_route(options.match, options.org)
    return admin.show_message(options.org_id, options.message_id)


def _action(group: Any, name: str, help_text: str, *positionals: str) -> argparse.ArgumentParser:
    """A (sub)command of ``group`` with its positional arguments, in order."""
    parser: argparse.ArgumentParser = group.add_parser(name, help=help_text)
    for positional in positionals:
        parser.add_argument(positional)
    return parser


def _whole_number(text: str) -> int:
    """ASCII digits only: int() alone also reads " 10", "+60", "1_0" and Arabic-Indic digits."""
    if not (text.isascii() and text.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number in ASCII digits")
    return int(text)


def _accept_json_after_commands(parser: argparse.ArgumentParser) -> None:
    """``--json`` works before the command or after it (``keys list org_x --json``). In the
    commands it has no default, so leaving it out there keeps what the top level parsed."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in action.choices.values():
                command.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help=JSON_HELP)
                _accept_json_after_commands(command)


def run(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> Any:
    """Runs one command and returns what it prints (tests call this)."""
    return _execute(_parser().parse_args(argv), os.environ if environ is None else environ)


def _execute(options: argparse.Namespace, environ: Mapping[str, str]) -> Any:
    admin = Admin(resolve_target(options.stack, options.table, environ))
    command = options.command
    if command == "create-org":
        return admin.create_org(options.name, options.country, options.webhook_url, options.label)
    if command == "show":
        return admin.show(options.org_id)
    if command == "keys":
        actions: dict[str, Callable[[], Any]] = {
            "list": lambda: admin.list_keys(options.org_id),
            "issue": lambda: admin.issue(options.org_id, options.label),
            "rotate": lambda: admin.rotate(options.org_id, options.key_id, options.grace_seconds),
            "revoke": lambda: admin.revoke(options.org_id, options.key_id),
        }
        return actions[options.key_command]()
    if command == "set-webhook":
        if options.clear == bool(options.url):
            raise AdminError("give a URL, or --clear")
        return admin.set_webhook(options.org_id, None if options.clear else options.url)
    if command == "set-country":
        return admin.set_country(options.org_id, options.country)
    if command == "set-sender-ids":
        return admin.set_sender_ids(options.org_id, options.sender_ids)
    if command == "rate-limit":
        if options.default:
            return admin.set_rate_limit(options.org_id, None, None)
        return admin.set_rate_limit(options.org_id, options.rate, options.burst)
    if command == "register-carrier":
        return admin.register_carrier(options.carrier)
    if command == "numbers":
        two_way = TwoWayAdmin(admin.repository, lambda: admin.now)
        if options.number_command == "assign":
            return two_way.assign(options.org_id, options.number, options.short_code, options.keyword)
        if options.number_command == "list":
            return two_way.list(options.org_id)
        return two_way.release(options.org_id, options.number, options.keyword)
    if command == "set-keywords":
        return TwoWayAdmin(admin.repository, lambda: admin.now).set_keywords(
            options.org_id,
            stop=options.stop,
            start=options.start,
            help_words=options.help_words,
            replies={"stop": options.stop_reply, "start": options.start_reply, "help": options.help_reply},
        )
    if command in ("carriers", "routes", "messages"):
        return _routing_command(options, RoutingAdmin(admin.repository, admin.now))
    if command in ("prices", "balance"):
        return _money_command(options, MoneyAdmin(admin.repository, admin.now, environ.get("CURRENCY", "KES")))
    if command == "replay-dlq":
        return admin.replay_dead_letters(options.queue, options.max, options.dry_run)
    raise AdminError(f"unknown command {command}")


def _text(result: Any) -> str:
    lines: list[str] = []
    rows = result if isinstance(result, list) else [result]
    for row in rows:
        for name, value in row.items():
            if isinstance(value, list) and value and isinstance(value[0], dict):
                lines.append(f"{name}:")
                lines.extend("  " + json.dumps(item) for item in value)
            else:
                lines.append(f"{name}: {json.dumps(value) if isinstance(value, dict | list) else value}")
        lines.append("")
    secrets = [name for name in ("app_key", "secret", "receipt_token") if _contains(result, name)]
    if secrets:
        lines.append(f"Store the {' and '.join(secrets)} now: it is shown this once and kept only hashed or sealed.")
    return "\n".join(lines).rstrip() + "\n"


def _contains(value: Any, name: str) -> bool:
    if isinstance(value, dict):
        return (name in value and value[name] is not None) or any(_contains(item, name) for item in value.values())
    if isinstance(value, list):
        return any(_contains(item, name) for item in value)
    return False


def main(argv: Sequence[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    try:
        result = _execute(options, os.environ)
    except (AdminError, DomainError) as error:
        print(f"lisoloo-admin: {error}", file=sys.stderr)
        return 2
    except ClientError as error:
        print(f"lisoloo-admin: AWS refused: {error}", file=sys.stderr)
        return 1
    sys.stdout.write(json.dumps(result, indent=2, ensure_ascii=False) + "\n" if options.json else _text(result))
    return 0
