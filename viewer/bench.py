"""Benchmark: ``python -m viewer.bench`` prints a table (speed and memory; not a test).

Mesh loading, for the Prism-size demo scan ("ready") and the large one ("large", >= 500k faces):
``trimesh.load`` of the OBJ bundle, our loader cold, and our loader from the cache sidecar. Each
row runs in a fresh child process so that its peak memory (max RSS above the process's baseline
after imports) belongs to that step alone. ``--gui`` adds the window's timings (see
``viewer.qt.bench_gui``), which need a display (run under ``xvfb-run -a``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
step, path, repeat = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])

def peak_kb():
    # VmHWM belongs to this program image; ru_maxrss survives exec and starts at the parent's size
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

import numpy, trimesh
from viewer.mesh.loader import load_mesh
from viewer.mesh.sidecar import load_sidecar, save_sidecar
sidecar = path.parent / "bench-mesh.npz"
if step == "prepare":  # its own process, so the sidecar step's peak is the re-open's alone
    save_sidecar(load_mesh(path, assume_prism=True), sidecar)
    print(json.dumps({}))
    sys.exit(0)
base = peak_kb()
times = []
for _ in range(repeat):
    t = time.perf_counter()
    if step == "trimesh":
        result = trimesh.load(path)
        faces = len(result.faces)
    elif step == "loader":
        result = load_mesh(path, assume_prism=True)
        faces = result.n_faces
    else:
        result = load_sidecar(sidecar)
        faces = result.n_faces
    times.append(time.perf_counter() - t)
    del result
peak = peak_kb()
print(json.dumps({"best": min(times), "median": sorted(times)[len(times) // 2], "faces": faces,
                  "peak_mb": (peak - base) / 1024}))
"""


def machine_line() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def _run_step(step: str, path: Path, repeat: int) -> dict:
    out = subprocess.run([sys.executable, "-c", _CHILD, step, str(path), str(repeat)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def mesh_rows(dataset: Path, repeat: int) -> list[tuple[str, str, dict]]:
    from viewer.demo.catalog import demo_scan_id

    rows = []
    for scenario in ("ready", "large"):
        obj = dataset / demo_scan_id(scenario) / "avatar.obj"
        with tempfile.TemporaryDirectory() as tmp:
            # work on a copy so the sidecar written for the measurement never lands in the demo set
            bundle = Path(tmp)
            for name in ("avatar.obj", "avatar.obj.mtl", "texture.png"):
                (bundle / name).write_bytes((obj.parent / name).read_bytes())
            for step in ("trimesh", "loader", "prepare", "sidecar"):
                result = _run_step(step, bundle / "avatar.obj", repeat)
                if step != "prepare":
                    rows.append((scenario, step, result))
    return rows


STEP_NAMES = {
    "trimesh": "trimesh.load (OBJ + MTL + PNG)",
    "loader": "load_mesh, cold",
    "sidecar": "load_sidecar (cached re-open)",
}


def print_mesh_table(rows: list[tuple[str, str, dict]]) -> None:
    print("| scan | faces | step | best s | median s | peak MB | vs trimesh |")
    print("|---|---:|---|---:|---:|---:|---:|")
    base = {scenario: r["best"] for scenario, step, r in rows if step == "trimesh"}
    for scenario, step, r in rows:
        speedup = base[scenario] / r["best"] if r["best"] > 0 else float("inf")
        print(f"| {scenario} | {r['faces']:,} | {STEP_NAMES[step]} | {r['best']:.3f} | "
              f"{r['median']:.3f} | {r['peak_mb']:.0f} | {speedup:.1f}x |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m viewer.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per step (best and median shown)")
    parser.add_argument("--gui", action="store_true", help="also time the window (needs a display)")
    args = parser.parse_args(argv)

    from viewer.demo.dataset import ensure_demo_dataset

    print(f"Machine: {machine_line()}")
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        dataset = ensure_demo_dataset(Path(tmp) / "demo")
        cold = time.perf_counter() - started
        started = time.perf_counter()
        ensure_demo_dataset(Path(tmp) / "demo")
        warm = time.perf_counter() - started
        print(f"Demo data set: generated in {cold:.2f} s, found cached in {warm:.3f} s\n")
        print_mesh_table(mesh_rows(dataset, args.repeat))
    if args.gui:
        from viewer.qt.bench_gui import run_gui_bench

        print()
        run_gui_bench()
    return 0


if __name__ == "__main__":
    sys.exit(main())
