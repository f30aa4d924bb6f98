#!/usr/bin/env bash
# Build the standalone one-folder Linux app: packaging/dist/scan-viewer/scan-viewer.
#
#   bash packaging/build.sh          # then: bash packaging/smoke.sh
#
# Uses its own venv (packaging/build/venv, git-ignored; ./.venv is left alone), installs
# the project (editable: the bundle is built from this tree, the dist-info gives the version) with
# PyInstaller and the pins in packaging/build-constraints.txt, runs packaging/scan-viewer.spec, strips
# the bundled libraries' symbol tables and prints the bundle's size and the build time.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
started=$(date +%s)
venv=packaging/build/venv
dist=packaging/dist/scan-viewer

source packaging/common.sh
# binutils: PyInstaller needs objdump (and ldd) on Linux; strip comes from it too. file: finds unstripped libraries.
ensure_system_packages binutils file python3-venv
if [ ! -x "$venv/bin/python" ]; then
  "$(find_python)" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
fi
stamp="$venv/.installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ packaging/build-constraints.txt -nt "$stamp" ]; then
  "$venv/bin/python" -m pip install -q -c packaging/build-constraints.txt -e . pyinstaller
  touch "$stamp"
fi

"$venv/bin/pyinstaller" --noconfirm --clean --log-level WARN \
  --distpath packaging/dist --workpath packaging/build/work packaging/scan-viewer.spec

# VTK's and CPython's libraries keep their symbol tables (libvtkCommonCore.so: 94 MiB, 59 MiB stripped).
# Libraries that auditwheel grafted into a wheel (the *.libs folders) are left alone: strip breaks the
# load segments patchelf rewrote (numpy's OpenBLAS then fails to load).
find "$dist" -type f \( -name '*.so' -o -name '*.so.*' \) -not -path '*.libs/*' -print0 \
  | xargs -0 file | { grep 'ELF.*not stripped' || true; } | cut -d: -f1 \
  | while read -r lib; do strip --strip-unneeded "$lib"; done

echo "built $dist/scan-viewer"
echo "bundle size: $(du -sm "$dist" | cut -f1) MiB ($(du -sb "$dist" | cut -f1) bytes, $(find "$dist" -type f | wc -l) files)"
echo "build time: $(( $(date +%s) - started )) s"
