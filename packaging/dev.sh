#!/usr/bin/env bash
# Set up Scan Viewer from a fresh checkout, then start it or run its tests.
#
#   bash packaging/dev.sh start [scan-viewer options]   # set up, then open the app (demo data by default)
#   bash packaging/dev.sh test  [pytest options]        # set up, then run the whole test suite
#
# Setting up means: on Debian/Ubuntu, install the system libraries Qt/VTK need (and Xvfb for tests)
# when missing, using apt-get as root or through sudo; create ./.venv with Python 3.11+; install the
# project into it (with the test extra for `test`). Re-running is cheap: installed pieces are skipped.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
action="${1:-}"
[ $# -gt 0 ] && shift
case "$action" in
  start|test) ;;
  *) echo "usage: bash packaging/dev.sh start|test [options]" >&2; exit 64 ;;
esac

source packaging/common.sh
system_packages=("${QT_RUNTIME_PACKAGES[@]}" python3-venv)
# desktop-file-validate checks resources/scan-viewer.desktop in the tests
[ "$action" = test ] && system_packages+=(desktop-file-utils)
ensure_system_packages "${system_packages[@]}"
python="$(find_python)"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
fi
extra=""; [ "$action" = test ] && extra="[test]"
stamp=".venv/.installed${extra}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q -e ".${extra}"
  touch "$stamp"
fi

if [ "$action" = start ]; then
  if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
    echo "no display: running the window on a virtual X screen (xvfb-run); use --screenshot PATH to see it" >&2
    exec xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/scan-viewer "$@"
  fi
  exec .venv/bin/scan-viewer "$@"
fi
exec .venv/bin/python -m pytest "$@"
