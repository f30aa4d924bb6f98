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

# Libraries of the Qt xcb platform plugin, Mesa's software OpenGL, and Xvfb (../shared/HEADLESS.md).
system_packages=(xvfb xauth libgl1 libegl1 libgl1-mesa-dri libglx-mesa0 libegl-mesa0 libdbus-1-3
  libfontconfig1 libglib2.0-0 libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4
  libxcb-image0 libxcb-keysyms1 libxcb-render-util0 libxcb-randr0 libxcb-shape0 libxcb-xfixes0
  libxcb-xkb1 libxcursor1 python3-venv)

install_system_packages() {
  command -v dpkg-query >/dev/null 2>&1 || { echo "note: not a Debian/Ubuntu system; install Qt's xcb libraries and Xvfb yourself" >&2; return 0; }
  local missing=()
  for p in "${system_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "error: missing system packages (${missing[*]}) and no sudo" >&2; exit 1; }
    sudo=(sudo)
  fi
  echo "installing system packages: ${missing[*]}" >&2
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

find_python() {
  for py in python3.13 python3.12 python3.11 python3; do
    # (a pyenv shim may exist for a version that is not active: it fails here, quietly)
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$py"; return 0
    fi
  done
  echo "error: Python 3.11 or newer is needed" >&2; exit 1
}

# desktop-file-validate checks resources/scan-viewer.desktop in the tests
[ "$action" = test ] && system_packages+=(desktop-file-utils)
install_system_packages
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
