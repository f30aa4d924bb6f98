# Shell functions shared by dev.sh, build.sh and smoke.sh (source it; it runs nothing itself).

# What Qt's xcb platform plugin and Mesa's software OpenGL need from Debian/Ubuntu, plus Xvfb for a
# machine without a screen (see ../shared/HEADLESS.md).
QT_RUNTIME_PACKAGES=(xvfb xauth libgl1 libegl1 libgl1-mesa-dri libglx-mesa0 libegl-mesa0 libdbus-1-3
  libfontconfig1 libglib2.0-0 libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4
  libxcb-image0 libxcb-keysyms1 libxcb-render-util0 libxcb-randr0 libxcb-shape0 libxcb-xfixes0
  libxcb-xkb1 libxcursor1)

# ensure_system_packages PKG...: install the missing ones with apt-get (as root or through sudo).
ensure_system_packages() {
  command -v dpkg-query >/dev/null 2>&1 || {
    echo "note: not a Debian/Ubuntu system; install Qt's xcb libraries and Xvfb yourself" >&2; return 0; }
  local missing=() p
  for p in "$@"; do
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

# find_python: the newest python3.x >= 3.11 on PATH.
find_python() {
  local py
  for py in python3.13 python3.12 python3.11 python3; do
    # (a pyenv shim may exist for a version that is not active: it fails here, quietly)
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$py"; return 0
    fi
  done
  echo "error: Python 3.11 or newer is needed" >&2; exit 1
}
