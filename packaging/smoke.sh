#!/usr/bin/env bash
# Smoke-test the built app (bash packaging/build.sh first) on a virtual X screen, as a first start:
#
#   bash packaging/smoke.sh
#
# 1. --version answers with the package metadata's version;
# 2. --demo --scan <ready scan> --screenshot: the demo scans are generated inside the bundle into an
#    empty cache (SCAN_VIEWER_CACHE_DIR in a temp folder) and the PNG shows an upright textured body
#    (packaging/check_screenshot.py, the tests' pixel check);
#    then the 500k-face scan, which the app parses in a child process of the frozen executable;
# 3. --turntable out.mp4: the bundled ffmpeg encodes an MP4;
# 4. start-up: seconds from launch to the main window mapped on screen (polled with xwininfo), at a
#    first start (empty cache) and at a second start; printed, not judged.
# Runs under xvfb-run when there is no DISPLAY; installs Xvfb, x11-utils and the X/GL libraries when
# missing (Debian/Ubuntu). Exits non-zero when a check fails.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
app=packaging/dist/scan-viewer/scan-viewer
python="${PYTHON:-packaging/build/venv/bin/python}"  # runs the pixel check; needs numpy, pillow, viewer
[ -x "$app" ] || { echo "error: $app is missing: run bash packaging/build.sh first" >&2; exit 1; }
[ -x "$python" ] || { echo "error: $python is missing: run build.sh, or set PYTHON to a venv with the project" >&2; exit 1; }

if [ -z "${DISPLAY:-}" ]; then
  # What the bundle expects from the system (PyInstaller leaves out libGL and friends), plus
  # x11-utils (xwininfo) for this test.
  source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
  ensure_system_packages "${QT_RUNTIME_PACKAGES[@]}" x11-utils
  exec xvfb-run -a -s "-screen 0 1600x1000x24" bash "$0" "$@"
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
use_fresh_profile() {  # a first start: empty cache, data and settings
  export SCAN_VIEWER_CACHE_DIR="$tmp/$1/cache" SCAN_VIEWER_DATA_DIR="$tmp/$1/data" \
         SCAN_VIEWER_CONFIG_DIR="$tmp/$1/config"
}
fail() { echo "SMOKE FAILED: $*" >&2; exit 1; }
now_us() { echo "${EPOCHREALTIME/./}"; }  # microseconds (bash 5)
seconds_since() { local us=$(( $(now_us) - $1 )); printf '%d.%02d' $(( us / 1000000 )) $(( us % 1000000 / 10000 )); }
unset PRISM_API_KEY

# 1. version from the bundled dist-info
expected="scan-viewer $("$python" -c 'from importlib.metadata import version; print(version("scan-viewer"))')"
got="$("$app" --version)"
[ "$got" = "$expected" ] || fail "--version said '$got', expected '$expected'"
echo "ok: --version: $got"

# 2. first start with the screenshot mode
scan_id="$("$python" -c 'from viewer.demo.catalog import demo_scan_id; print(demo_scan_id("ready"))')"
use_fresh_profile screenshot
started=$(now_us)
"$app" --demo --scan "$scan_id" --screenshot "$tmp/shot.png" 2> "$tmp/shot.log" \
  || { cat "$tmp/shot.log" >&2; fail "the screenshot run exited non-zero"; }
seconds=$(seconds_since "$started")
grep -q "rendered the body in 3D" "$tmp/shot.log" || { cat "$tmp/shot.log" >&2; fail "no body in 3D"; }
"$python" packaging/check_screenshot.py "$tmp/shot.png" || fail "the screenshot does not show a body"
[ -n "${SMOKE_KEEP_SCREENSHOT:-}" ] && cp "$tmp/shot.png" "$SMOKE_KEEP_SCREENSHOT"
echo "ok: first start, demo generated, scan $scan_id rendered and saved in $seconds s"

# 2b. the 500k-face demo scan: its OBJ is parsed in a child process (viewer/services/mesh_process.py),
#     which the frozen executable must run as that child (multiprocessing.freeze_support in launcher.py)
large_id="$("$python" -c 'from viewer.demo.catalog import demo_scan_id; print(demo_scan_id("large"))')"
"$app" --demo --scan "$large_id" --screenshot "$tmp/large.png" 2> "$tmp/large.log" \
  || { cat "$tmp/large.log" >&2; fail "the screenshot run of the large scan exited non-zero"; }
grep -q "rendered the body in 3D" "$tmp/large.log" || { cat "$tmp/large.log" >&2; fail "large scan: no body in 3D"; }
echo "ok: the 500k-face scan rendered (parsed in a child process)"

# 3. turntable MP4 through the bundled ffmpeg (the demo data of step 2 is reused)
"$app" --demo --scan "$scan_id" --turntable "$tmp/turn.mp4" --frames 10 --size 320x240 2> "$tmp/turn.log" \
  || { cat "$tmp/turn.log" >&2; fail "the turntable run exited non-zero"; }
head -c 12 "$tmp/turn.mp4" | grep -q ftyp || fail "turn.mp4 is not an MP4"
echo "ok: turntable MP4 written ($(stat -c %s "$tmp/turn.mp4") bytes)"

# 4. start-up to a shown window
seconds_to_window() {
  local started id="" i
  started=$(now_us)
  "$app" --demo 2> "$tmp/window.log" &
  local pid=$!
  for i in $(seq 1 1500); do  # 30 s at most
    id=$(xwininfo -root -tree 2>/dev/null | grep '("scan-viewer" "Scan Viewer")' | awk '{print $1; exit}')
    if [ -n "$id" ] && xwininfo -id "$id" 2>/dev/null | grep -q "Map State: IsViewable"; then break; fi
    id=""; sleep 0.02
  done
  local seconds; seconds=$(seconds_since "$started")
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
  [ -n "$id" ] || { cat "$tmp/window.log" >&2; fail "no window within 30 s"; }
  echo "$seconds"
}
use_fresh_profile window
first=$(seconds_to_window)
second=$(seconds_to_window)
echo "start-up to the shown window: first start $first s, second start $second s"
echo "bundle size: $(du -sm packaging/dist/scan-viewer | cut -f1) MiB"
echo "SMOKE PASSED"
