"""``scan-viewer-server``: run the Prism stand-in server until Ctrl-C or SIGTERM.

Standard output carries exactly one line, ``serving <base-url>``, once the server listens; everything
else (the API key, the asset host, logs) goes to standard error.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from viewer.demo.dataset import ensure_demo_dataset
from viewer.demo.scan_store import ScanStore
from viewer.demo.server import DEMO_API_KEY, PrismStandInServer


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scan-viewer-server",
        description="A local server that answers like the Prism Hosted API, with generated demo scans "
                    "or the scans of a data folder.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="API port; 0 picks a free one (default)")
    parser.add_argument("--api-key", default=DEMO_API_KEY, help="bearer key the API accepts (default: the demo key)")
    parser.add_argument("--url-ttl", type=_positive, default=300.0, metavar="SECONDS",
                        help="lifetime of pre-signed asset URLs (default %(default)s)")
    parser.add_argument("--latency", type=_non_negative, default=0.0, metavar="MS",
                        help="delay added to every response, in milliseconds")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated demo scans (default 0)")
    parser.add_argument("--data", type=Path, metavar="DIR",
                        help="serve the scans of this folder (one sub-folder per scan) instead of the demo set")
    parser.add_argument("--progress-seconds", type=_positive, default=None, metavar="SECONDS",
                        help="how long the progressing demo scan takes to become READY (default 60)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    if args.data is not None and not args.data.is_dir():
        print(f"scan-viewer-server: data folder not found: {args.data}", file=sys.stderr)
        return 2
    root = args.data if args.data is not None else ensure_demo_dataset(seed=args.seed)
    store = ScanStore(root, progress_seconds=args.progress_seconds)
    server = PrismStandInServer(store, host=args.host, port=args.port, api_key=args.api_key,
                                url_ttl=args.url_ttl, latency_ms=args.latency)

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        server.start()
    except OSError as exc:
        print(f"scan-viewer-server: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    try:
        print(f"API key: {args.api_key}", file=sys.stderr)
        print(f"asset host: {server.asset_base_url}", file=sys.stderr)
        print(f"data: {root}", file=sys.stderr, flush=True)
        print(f"serving {server.base_url}", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
