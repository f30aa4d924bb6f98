"""``scan-viewer``: command line, configuration, and the start of the window.

This module is the composition root: it parses the command line, decides which server and key to
use (rules in ``viewer.core.server_choice``), and hands a frozen ``AppConfig`` to the Qt layer.
It imports Qt only when a window is needed, so ``--help`` and ``--version`` answer at once.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from viewer import __version__
from viewer.core.secrets import KeyStore
from viewer.core.server_choice import (
    KEY_ENV_VAR,
    PRODUCTION,
    SANDBOX,
    KeyChoice,
    ServerTarget,
    choose_key,
    choose_server,
    target_from_name,
)
from viewer.core.settings import Settings, load_settings

log = logging.getLogger("viewer")

DEFAULT_SCREENSHOT_SIZE = (1280, 800)
SCREENSHOT_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class AppConfig:
    target: ServerTarget
    key: KeyChoice
    settings: Settings
    user_token: str | None = None
    scan_id: str | None = None
    screenshot: Path | None = None
    window_size: tuple[int, int] | None = None
    screenshot_timeout_s: float = SCREENSHOT_TIMEOUT_S


def _window_size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d{2,5})\s*[xX]\s*(\d{2,5})\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 1280x800, got {text!r}")
    return int(match.group(1)), int(match.group(2))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scan-viewer",
        description="Inspect Prism body scans: the scan list with pipeline status, the textured 3D "
                    "body, and its measurements. Without an API key it shows generated demo scans "
                    "from a local Prism-compatible server.",
    )
    server = parser.add_argument_group("server (first that applies: --demo, --base-url, --env, last used)")
    server.add_argument("--demo", action="store_true", help="use the built-in demo server and demo scans")
    server.add_argument("--base-url", metavar="URL", help="any Prism-compatible API base URL")
    server.add_argument("--env", choices=[PRODUCTION, SANDBOX], help="Prism's production or sandbox API")
    server.add_argument("--api-key-env", metavar="NAME",
                        help=f"name of the environment variable holding the API key (default {KEY_ENV_VAR}, "
                             "then the key saved in the OS keyring)")
    what = parser.add_argument_group("what to show")
    what.add_argument("--user", metavar="TOKEN", help="list only this user's scans")
    what.add_argument("--scan", metavar="ID", help="select and open this scan at start")
    batch = parser.add_argument_group("batch")
    batch.add_argument("--screenshot", metavar="PATH", type=Path,
                       help="wait until the window has loaded, save a PNG of it and exit")
    batch.add_argument("--window-size", metavar="WxH", type=_window_size,
                       help="window size (default 1280x800 with --screenshot)")
    batch.add_argument("--check", nargs="+", metavar="SCAN_ID",
                       help="check the scans' assets (texture, UVs, holes, height, ...), print a report "
                            "and exit: 0 nothing failed, 1 a check failed, 2 a scan could not be checked")
    batch.add_argument("--json", action="store_true", help="with --check: one JSON document")
    batch.add_argument("--turntable", metavar="PATH", type=Path,
                       help="with --scan: write a 360-degree turn of the body as PATH.mp4 or PATH.gif and exit")
    batch.add_argument("--frames", type=int, default=180, help="turntable frames (default 180)")
    batch.add_argument("--size", metavar="WxH", type=_window_size, default=(1920, 1080),
                       help="turntable size (default 1920x1080; a GIF is capped at 640 px)")
    batch.add_argument("--fps", type=float, default=30.0, help="turntable frames per second (default 30)")
    parser.add_argument("--verbose", "-v", action="store_true", help="log what happens to stderr")
    parser.add_argument("--version", action="version", version=f"scan-viewer {__version__}")
    return parser


def make_config(args: argparse.Namespace, *, environ: os._Environ | dict | None = None,
                keys: KeyStore | None = None, settings: Settings | None = None) -> AppConfig:
    environ = os.environ if environ is None else environ
    keys = keys or KeyStore()
    settings = settings or load_settings()
    if args.base_url and not args.base_url.startswith(("http://", "https://")):
        raise SystemExit(f"scan-viewer: --base-url must start with http:// or https:// (got {args.base_url!r})")
    # With nothing else said, a key for production means production, no key means the demo.
    key_available = choose_key(target_from_name(PRODUCTION), api_key_env=args.api_key_env,
                               environ=environ, keyring_get=keys.get).key is not None
    target = choose_server(demo=args.demo, base_url=args.base_url, env=args.env,
                           remembered=settings.last_server, key_available=key_available)
    key = choose_key(target, api_key_env=args.api_key_env, environ=environ, keyring_get=keys.get)
    size = args.window_size or (DEFAULT_SCREENSHOT_SIZE if args.screenshot else None)
    return AppConfig(target=target, key=key, settings=settings, user_token=args.user,
                     scan_id=args.scan, screenshot=args.screenshot, window_size=size)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.turntable and not args.scan:
        parser.error("--turntable needs --scan ID")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    keys = KeyStore()
    config = make_config(args, keys=keys)
    if args.check:
        from viewer.services.check_command import run_check_command

        return run_check_command(args.check, as_json=args.json, target=config.target,
                                 api_key=config.key.key, settings=config.settings)
    if args.turntable:
        from viewer.services.turntable_command import run_turntable_command

        return run_turntable_command(args.scan, args.turntable, frames=args.frames, size=args.size,
                                     fps=args.fps, target=config.target, api_key=config.key.key,
                                     settings=config.settings)
    if args.api_key_env and config.key.key is None and not config.target.is_demo:
        print(f"scan-viewer: the variable {args.api_key_env} is not set or empty.", file=sys.stderr)
        if config.screenshot:
            return 2
    if config.screenshot and config.key.key is None and not config.target.is_demo:
        print(f"scan-viewer: no API key for {config.target.label}: set {KEY_ENV_VAR}, use --api-key-env, "
              "or use --demo.", file=sys.stderr)
        return 2
    from viewer.qt.launch import run_gui  # Qt is imported only now

    return run_gui(config, keys)


if __name__ == "__main__":
    sys.exit(main())
