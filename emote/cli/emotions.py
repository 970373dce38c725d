"""`emote emotions`: list the emotions and what each does to the face."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "emotions",
        help="list the emotions --emotion accepts",
        description="List the emotions, their FACS action units and aliases.",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from emote.performance.emotions import describe_emotions

    print(describe_emotions())
    return 0
