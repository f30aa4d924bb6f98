"""Integrity checks: the demo scans through the real local server, crafted bundles served from a data
folder, and crafted meshes checked directly."""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image

from viewer.api.client import PrismClient
from viewer.api.retry import RetryPolicy
from viewer.assets.cache import AssetCache
from viewer.core.models import AssetType
from viewer.demo.catalog import demo_scan_id
from viewer.demo.scan_store import ScanStore
from viewer.demo.server import DEMO_API_KEY, PrismStandInServer
from viewer.mesh.loader import load_mesh
from viewer.mesh.mesh_data import BodyMesh
from viewer.services.integrity import (
    CLOSED,
    FACES,
    FILE_SIZES,
    HEIGHT,
    MATERIAL_LINKS,
    MODEL,
    PIPELINE,
    RESULTS_FILE,
    TEMPLATE,
    TEXTURE,
    UNITS,
    UVS,
    BundleFiles,
    Status,
    check_bundle,
    check_closed,
    check_faces,
    check_height,
    check_material_links,
    check_scan,
    check_template,
    check_texture,
    check_units,
    check_uvs,
    count_components,
)

ALL_CHECKS = [PIPELINE, FILE_SIZES, MODEL, MATERIAL_LINKS, TEXTURE, UVS, UNITS, HEIGHT, CLOSED, FACES,
              TEMPLATE]


def opener_for(server, tmp_path):
    from viewer.services.scan_opening import ScanOpener

    client = PrismClient(server.base_url, DEMO_API_KEY, sleep=lambda _s: None,
                         retry=RetryPolicy(max_attempts=2, random=lambda: 0))
    return ScanOpener(client, AssetCache(tmp_path / "cache"))


def statuses(report) -> dict[str, Status]:
    return {c.name: c.status for c in report.checks}


# ------------------------------------------------------------------ demo scans on the real server


def test_ready_scan_passes_every_check(demo_server, tmp_path):
    report = check_scan(opener_for(demo_server, tmp_path), demo_scan_id("ready"))
    assert report.error is None
    assert [c.name for c in report.checks] == ALL_CHECKS
    assert set(statuses(report).values()) == {Status.PASS}, report.checks
    assert "1024x1024" in report.check(TEXTURE).detail
    assert report.check(HEIGHT).detail.endswith("0.0 cm apart")
    assert report.check(CLOSED).detail == "closed: no holes"
    assert report.check(TEMPLATE).detail.startswith("not applicable: 7,001 vertices")


def test_second_check_reuses_saved_results_until_the_model_changes(demo_server, tmp_path, monkeypatch):
    opener = opener_for(demo_server, tmp_path)
    scan_id = demo_scan_id("ready-sam")
    first = check_scan(opener, scan_id)
    saved = opener.cache.scan_dir(scan_id) / RESULTS_FILE
    data = json.loads(saved.read_text("utf-8"))
    data["checks"][0]["detail"] = "from the saved file"
    saved.write_text(json.dumps(data), "utf-8")

    requests = []
    original = demo_server.faults.take
    monkeypatch.setattr(demo_server.faults, "take",
                        lambda listener, path: requests.append(listener) or original(listener, path))
    again = check_scan(opener, scan_id)
    assert again.check(FILE_SIZES).detail == "from the saved file"
    assert requests == ["api"]  # GET /scans/{id} only: no download, no mesh loaded
    assert [c.status for c in again.checks] == [c.status for c in first.checks]

    model = opener.cache.get(scan_id, AssetType.MODEL)
    os.utime(model.path, ns=(model.path.stat().st_atime_ns, model.path.stat().st_mtime_ns + 10**9))
    redone = check_scan(opener, scan_id)
    assert redone.check(FILE_SIZES).detail.startswith("avatar.obj ")


def test_not_a_mesh_fails_saying_so(demo_server, tmp_path):
    report = check_scan(opener_for(demo_server, tmp_path), demo_scan_id("not-a-mesh"))
    model = report.check(MODEL)
    assert model.status is Status.FAIL and "not a mesh" in model.detail and "XML" in model.detail
    assert report.check(FILE_SIZES).status is Status.WARN  # 212 bytes
    assert report.check(CLOSED).detail == "not run: the model did not load"
    assert report.check(HEIGHT).detail == "not run: the model did not load"


def test_missing_texture_fails_on_texture_and_its_name(demo_server, tmp_path):
    report = check_scan(opener_for(demo_server, tmp_path), demo_scan_id("no-texture"))
    assert report.check(TEXTURE).status is Status.FAIL
    links = report.check(MATERIAL_LINKS)
    assert links.status is Status.FAIL and "'texture.png'" in links.detail
    assert report.check(UVS).status is Status.PASS  # the OBJ still has its vt rows
    assert report.check(CLOSED).status is Status.PASS


def test_legacy_ply_only_warns_about_texture_and_uvs(demo_server, tmp_path):
    report = check_scan(opener_for(demo_server, tmp_path), demo_scan_id("legacy-ply"))
    found = statuses(report)
    assert not report.failed
    assert found[TEXTURE] is Status.WARN and found[UVS] is Status.WARN
    assert "PLY" in report.check(TEXTURE).detail
    assert found[MATERIAL_LINKS] is Status.PASS and report.check(MATERIAL_LINKS).detail.startswith("not applicable")


def test_failed_body_fails_on_pipeline_and_runs_nothing_else(demo_server, tmp_path):
    report = check_scan(opener_for(demo_server, tmp_path), demo_scan_id("failed-body"))
    pipeline = report.check(PIPELINE)
    assert pipeline.status is Status.FAIL and "Body stage failed" in pipeline.detail
    others = [c for c in report.checks if c.name != PIPELINE]
    assert len(others) == 10
    assert all(c.status is Status.WARN and c.detail == "not run: no model (the Body stage failed)" for c in others)


def test_failed_fitted_body_names_the_stage_and_still_checks_the_model(demo_server, tmp_path):
    report = check_scan(opener_for(demo_server, tmp_path), demo_scan_id("failed-fitted-body"))
    assert report.check(PIPELINE).status is Status.FAIL and "Fitted body" in report.check(PIPELINE).detail
    assert report.check(MODEL).status is Status.PASS and report.check(CLOSED).status is Status.PASS


def test_processing_scan_warns_without_failing(demo_server, tmp_path):
    report = check_scan(opener_for(demo_server, tmp_path), demo_scan_id("processing"))
    assert not report.failed
    assert "still running" in report.check(PIPELINE).detail
    assert report.check(MODEL).detail.startswith("not run: no model yet")


def test_unknown_scan_and_unreachable_server_are_errors(demo_server, tmp_path):
    report = check_scan(opener_for(demo_server, tmp_path), "no-such-scan")
    assert report.checks == () and "not found" in report.error.lower()

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    from viewer.services.scan_opening import ScanOpener

    client = PrismClient(f"http://127.0.0.1:{port}", DEMO_API_KEY, sleep=lambda _s: None,
                         retry=RetryPolicy(max_attempts=1))
    unreachable = check_scan(ScanOpener(client, AssetCache(tmp_path / "other")), demo_scan_id("ready"))
    assert unreachable.checks == () and "cannot reach" in unreachable.error


# ------------------------------------------------------------------ crafted bundles in a data folder


def _punch_holes(obj_text: str, centres: list[int]) -> str:
    """Remove every face around each of ``centres`` (1-based file vertex numbers): one hole each."""
    kept = []
    for line in obj_text.splitlines(keepends=True):
        if line.startswith("f "):
            corners = {int(part.split("/")[0]) for part in line.split()[1:]}
            if corners & set(centres):
                continue
        kept.append(line)
    return "".join(kept)


@pytest.fixture(scope="module")
def crafted_server(demo_dataset, tmp_path_factory, shared_testdata):
    """A server on a data folder with: a body with two holes, bodies whose declared height is off,
    and fitted bodies (canonical body assets) with and without the SMPL vertex count."""
    source = demo_dataset / demo_scan_id("ready")
    data = tmp_path_factory.mktemp("crafted-data")

    def bundle(name: str, scan: dict | None = None) -> Path:
        folder = data / name
        folder.mkdir()
        for file in ("avatar.obj", "avatar.obj.mtl", "texture.png"):
            shutil.copy(source / file, folder / file)
        if scan is not None:
            (folder / "scan.json").write_text(json.dumps(scan), "utf-8")
        return folder

    holes = bundle("holes")
    text = (holes / "avatar.obj").read_text("utf-8")
    (holes / "avatar.obj").write_text(_punch_holes(text, [1500, 5000]), "utf-8")
    bundle("declared-short", {"height": {"value": 1.50, "unit": "m"}})
    bundle("declared-near", {"height": {"value": 1.64, "unit": "m"}})
    shutil.copy(shared_testdata / "prismlabs-prism-tools" / "avatar.obj", bundle("smpl-fitted") / "canonical_body.obj")
    shutil.copy(source / "avatar.obj", bundle("wrong-fitted") / "canonical_body.obj")
    with PrismStandInServer(ScanStore(data)) as server:
        yield server


def test_punched_holes_are_counted_as_open_loops(crafted_server, tmp_path):
    report = check_scan(opener_for(crafted_server, tmp_path), "holes")
    closed = report.check(CLOSED)
    assert closed.status is Status.WARN
    assert closed.detail.startswith("2 open loops (holes), ")
    assert report.check(FACES).status is Status.PASS


def test_height_against_declared(crafted_server, tmp_path):
    opener = opener_for(crafted_server, tmp_path)
    short = check_scan(opener, "declared-short").check(HEIGHT)
    assert short.status is Status.FAIL and "18.0 cm apart" in short.detail and "(scan)" in short.detail
    near = check_scan(opener, "declared-near").check(HEIGHT)
    assert near.status is Status.WARN and "4.0 cm apart" in near.detail


def test_canonical_body_is_held_to_the_smpl_template(crafted_server, tmp_path):
    opener = opener_for(crafted_server, tmp_path)
    good = check_scan(opener, "smpl-fitted").check(TEMPLATE)
    assert good.status is Status.PASS and "6,890" in good.detail and "canonical body" in good.detail
    bad = check_scan(opener, "wrong-fitted").check(TEMPLATE)
    assert bad.status is Status.FAIL and "7,001" in bad.detail


# ------------------------------------------------------------------ Prism's own sample bundle


def test_prism_sample_avatar_matches_the_template_and_passes(shared_testdata):
    folder = shared_testdata / "prismlabs-prism-tools"
    mesh = load_mesh(folder / "avatar.obj", assume_prism=True)
    template = check_template(mesh)
    assert template.status is Status.PASS and template.detail.startswith("6,890 vertices")
    result = check_bundle(BundleFiles.in_folder(folder), mesh)
    assert {c.name: c.status for c in result.checks if c.status is not Status.PASS} == {}
    assert result.model_height_m == pytest.approx(1.709, abs=0.001)


# ------------------------------------------------------------------ crafted meshes


def body_from(mesh: trimesh.Trimesh, faces: np.ndarray | None = None, **fields) -> BodyMesh:
    return BodyMesh(vertices=np.asarray(mesh.vertices), faces=np.asarray(mesh.faces if faces is None else faces),
                    **fields)


def test_degenerate_and_duplicate_faces_are_counted():
    sphere = trimesh.creation.icosphere(subdivisions=3)
    faces = np.asarray(sphere.faces)
    extra = np.array([
        faces[0], faces[7][::-1], faces[9],  # three duplicates (one with the other winding)
        [1, 1, 2],  # a repeated corner
    ])
    body = body_from(sphere, np.concatenate([faces, extra]))
    result = check_faces(body)
    assert result.status is Status.WARN
    assert result.detail == f"1 degenerate, 3 duplicate of {len(faces) + 4:,} faces"

    many = body_from(sphere, np.concatenate([faces, faces[:20]]))
    assert check_faces(many).status is Status.FAIL
    assert check_faces(body_from(sphere)).status is Status.PASS


def test_zero_area_face_is_degenerate():
    vertices = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [2, 0, 0]], dtype=float)
    body = BodyMesh(vertices=vertices, faces=np.array([[0, 1, 2], [0, 1, 3]]))  # the second is a line
    assert check_faces(body).detail.startswith("1 degenerate, 0 duplicate")


def test_holes_counted_and_uv_seams_are_not_holes():
    sphere = trimesh.creation.icosphere(subdivisions=3)
    assert check_closed(body_from(sphere)).detail == "closed: no holes"

    # a seam: half of the faces use copies of their vertices (same positions), as trimesh makes at UV seams
    n = len(sphere.vertices)
    faces = np.asarray(sphere.faces).copy()
    faces[: len(faces) // 2] += n
    seamed = BodyMesh(vertices=np.concatenate([sphere.vertices, sphere.vertices]), faces=faces)
    assert check_closed(seamed).detail == "closed: no holes"

    ring = lambda v: np.flatnonzero((np.asarray(sphere.faces) == v).any(axis=1))  # noqa: E731
    far_apart = [0, int(np.argmin(sphere.vertices @ sphere.vertices[0])), 100]
    holes = np.concatenate([ring(v) for v in far_apart])
    punched = body_from(sphere, np.delete(np.asarray(sphere.faces), holes, axis=0))
    result = check_closed(punched)
    assert result.status is Status.WARN and result.detail.startswith("3 open loops (holes), ")

    shredded = body_from(sphere, np.delete(np.asarray(sphere.faces), np.s_[::3], axis=0))
    torn = check_closed(shredded)
    assert torn.status is Status.FAIL and torn.detail.startswith("torn surface: ")


def test_count_components():
    square = [[0, 1], [1, 2], [2, 3], [3, 0]]
    triangle = [[10, 11], [11, 12], [12, 10]]
    path = [[20, 21], [21, 22]]
    long_chain = [[100 + i, 101 + i] for i in range(500)]
    assert count_components(np.array(square + triangle + path + long_chain)) == 4
    assert count_components(np.zeros((0, 2), dtype=int)) == 0


def test_near_template_count_warns_and_far_counts_do_not_apply():
    def body(count: int) -> BodyMesh:
        return BodyMesh(vertices=np.zeros((count, 3)), faces=np.array([[0, 1, 2]]),
                        source_vertex_index=np.arange(count))

    assert check_template(body(6900)).status is Status.WARN
    assert check_template(body(6890)).status is Status.PASS
    far = check_template(body(12000))
    assert far.status is Status.PASS and far.detail.startswith("not applicable")


def test_units():
    sphere = trimesh.creation.icosphere()
    assert check_units(body_from(sphere, units="m")).status is Status.PASS
    centimetres = check_units(body_from(sphere, units="m", unit_scale=0.01))
    assert centimetres.status is Status.WARN and "centimetres" in centimetres.detail
    assert check_units(body_from(sphere, units=None)).status is Status.FAIL


def test_height_tolerances():
    assert check_height(1.70, 1.68, "scan").status is Status.PASS
    assert check_height(1.75, 1.68, "user").status is Status.WARN
    assert check_height(1.80, 1.68, "user").status is Status.FAIL
    assert check_height(1.80, None, "the scan names no user").status is Status.WARN


# ------------------------------------------------------------------ crafted files


def _obj(folder: Path, text: str) -> Path:
    path = folder / "avatar.obj"
    path.write_text(text, "utf-8")
    return path


TRIANGLE = "v 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt {u} 1\nusemtl skin\nf 1/1 2/2 3/3\n"


def test_texture_placeholder_flat_and_broken(tmp_path):
    path = tmp_path / "texture.png"
    Image.new("RGB", (2, 2), (200, 150, 120)).save(path)
    assert "placeholder" in check_texture(BundleFiles(None, texture=path), None).detail
    Image.new("RGB", (512, 512), (200, 150, 120)).save(path)
    flat = check_texture(BundleFiles(None, texture=path), None)
    assert flat.status is Status.FAIL and "single flat colour (RGB 200, 150, 120)" in flat.detail
    path.write_bytes(b"\x89PNG\r\n\x1a\nthis is not a png")
    broken = check_texture(BundleFiles(None, texture=path), None)
    assert broken.status is Status.FAIL and "does not decode" in broken.detail
    noisy = np.random.default_rng(0).integers(0, 255, (512, 512, 3), dtype=np.uint8)
    Image.fromarray(noisy).save(path)
    assert check_texture(BundleFiles(None, texture=path), None).status is Status.PASS


def test_material_links(tmp_path):
    model = _obj(tmp_path, "mtllib missing.mtl\n" + TRIANGLE.format(u=0))
    result = check_material_links(BundleFiles(model))
    assert result.status is Status.FAIL and "'missing.mtl', which is not in the bundle" in result.detail

    _obj(tmp_path, "mtllib ../outside.mtl\n" + TRIANGLE.format(u=0))
    assert "outside the bundle" in check_material_links(BundleFiles(model)).detail

    (tmp_path / "avatar.obj.mtl").write_text("newmtl skin\nmap_Kd -s 1 1 1 skin.png\n", "utf-8")
    _obj(tmp_path, "mtllib avatar.obj.mtl\n" + TRIANGLE.format(u=0))
    assert "texture '-s 1 1 1 skin.png', which is missing" in check_material_links(BundleFiles(model)).detail
    Image.new("RGB", (4, 4)).save(tmp_path / "skin.png")
    linked = check_material_links(BundleFiles(model))
    assert linked.status is Status.PASS and linked.detail == "avatar.obj -> avatar.obj.mtl -> skin.png"


def test_uvs_outside_the_unit_square_warn(tmp_path):
    inside = _obj(tmp_path, TRIANGLE.format(u=1))
    assert check_uvs(BundleFiles(inside), None).status is Status.PASS
    outside = _obj(tmp_path, TRIANGLE.format(u=3))
    result = check_uvs(BundleFiles(outside), None)
    assert result.status is Status.WARN and "33.3% of 3 UVs lie outside [0, 1]" in result.detail
    _obj(tmp_path, "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    assert check_uvs(BundleFiles(tmp_path / "avatar.obj"), None).status is Status.FAIL
