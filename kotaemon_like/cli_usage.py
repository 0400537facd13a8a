"""`kl usage`: messages and LLM tokens per tenant in a month, against each tenant's quota."""

from __future__ import annotations

import argparse

from . import registry
from .config import Settings


def add_parser(sub) -> None:
    usage = sub.add_parser("usage", help="messages and LLM tokens per tenant this month (or --month), with quotas")
    usage.add_argument("--month", help="YYYY-MM (default: this month, UTC)")
    usage.add_argument("--tenant", help="one tenant only")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from .conversations.usage import Usage, UsageLedger, allowance, this_month

    store, _ = registry.build_conversations(settings)
    try:
        month = args.month or this_month()
        rows = UsageLedger(store.session).report(month, args.tenant) or ([Usage(args.tenant, month)] if args.tenant else [])
    finally:
        store.close_store()
    if not rows:
        print(f"no usage in {month}")
        return 0
    shown = lambda value: "unlimited" if value is None else str(value)  # noqa: E731
    print(f"{'tenant':<20} {'month':<8} {'messages':>9} {'quota':>10} {'LLM tokens':>11} {'quota':>10}")
    for row in rows:
        quota = allowance(settings.server.quotas, row.tenant)
        print(f"{row.tenant:<20} {row.month:<8} {row.messages:>9} {shown(quota['messages']):>10} "
              f"{row.tokens:>11} {shown(quota['tokens']):>10}")
    return 0
