"""`emote serve`: the WebSocket stream and a browser page that animates a head live."""

from __future__ import annotations

import argparse
import sys

EPILOG = """\
open http://HOST:PORT/ in a browser: the microphone or an audio file animates the default head
(drop your own GLB with ARKit-named morph targets onto the page); its menus set the emotion,
engine and language of the speech (auto, or any espeak-ng language). Programs connect to
ws://HOST:PORT/ws (protocol: emote/stream/server.py).

Listens on 127.0.0.1 only unless --host says otherwise (--host 0.0.0.0: every interface;
anyone who can reach the port can use it). Ctrl-C stops it.

examples:
  emote serve                          # http://127.0.0.1:8765/
  emote serve --port 9000 --max-clients 4
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="live in the browser: a WebSocket stream and a page animating a 3D head",
        description="Serve the live stream over WebSocket, with a page that animates a head in the browser.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1, this machine)"
    )
    p.add_argument("--port", type=int, default=8765, help="port (default: 8765; 0 picks a free one)")
    p.add_argument("--max-clients", type=int, default=8, help="streams at once (default: 8)")
    p.add_argument(
        "--idle-timeout", type=float, default=30.0, help="seconds a silent client is kept (default 30)"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from emote.errors import EmoteError
    from emote.stream.server import Server, ServeSettings

    if not 0 <= args.port <= 65535:
        raise EmoteError(f"--port must be in 0..65535, got {args.port}")
    if args.max_clients < 1 or args.idle_timeout <= 0:
        raise EmoteError("--max-clients must be >= 1 and --idle-timeout > 0")
    settings = ServeSettings(host=args.host, port=args.port, max_clients=args.max_clients,
                             idle_timeout=args.idle_timeout)  # fmt: skip

    def ready(server: Server) -> None:
        host = f"[{args.host}]" if ":" in args.host else args.host
        print(
            f"emote: serving http://{host}:{server.port}/ (WebSocket /ws); Ctrl-C stops",
            file=sys.stderr,
            flush=True,
        )

    Server(settings).run(ready)
    print("emote: stopped", file=sys.stderr)
    return 0
