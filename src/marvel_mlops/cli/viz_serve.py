"""``marvel-mlops viz-serve``: serves the static kedro-viz site (``kedro viz build``).

Opened from disk (``file://.../build/index.html``) the site stays blank: browsers refuse
its scripts' requests for ``api/*`` from a file URL. Served over HTTP it works offline.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from collections.abc import Sequence
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args) -> None:  # noqa: A002 - the base class's signature
        pass


def main(argv: Sequence[str]) -> int:
    """Serves ``--dir`` on ``--host``:``--port`` until interrupted; prints the URL first."""
    parser = argparse.ArgumentParser(prog="marvel-mlops viz-serve", description=__doc__)
    parser.add_argument("--dir", default="build", help="the built site (default: build)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4141, help="0 picks a free port")
    args = parser.parse_args(list(argv))
    site = Path(args.dir)
    if not (site / "index.html").is_file():
        print(f"No kedro-viz site in {site}/: run `bash project.sh viz` (it builds first).")
        return 1
    handler = partial(_QuietHandler, directory=str(site))
    with ThreadingHTTPServer((args.host, args.port), handler) as server:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        host, port = server.server_address[:2]
        print(f"kedro-viz site: http://{host}:{port}/  (Ctrl+C stops it)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
    return 0
