"""The parsed-mesh sidecar: exact round trip, None for anything unusable, atomic writes, speed."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from viewer.mesh.loader import load_mesh
from viewer.mesh.mesh_data import BodyMesh, TextureGroup
from viewer.mesh.sidecar import FORMAT_VERSION, load_sidecar, save_sidecar


@pytest.fixture(scope="module")
def avatar(shared_testdata) -> BodyMesh:
    return load_mesh(shared_testdata / "prismlabs-prism-tools" / "avatar.obj")


def _assert_same(loaded: BodyMesh, original: BodyMesh) -> None:
    for name in ("vertices", "faces", "uvs", "texture", "vertex_colors", "source_vertex_index"):
        mine, theirs = getattr(loaded, name), getattr(original, name)
        if theirs is None:
            assert mine is None, name
        else:
            np.testing.assert_array_equal(mine, theirs, err_msg=name)
            assert mine.dtype == theirs.dtype, name
            assert not mine.flags.writeable, name
    for name in ("source_path", "units", "unit_scale", "source_up_axis", "source_front_axis",
                 "orientation_reason", "warnings"):
        assert getattr(loaded, name) == getattr(original, name), name
    assert [g.name for g in loaded.groups] == [g.name for g in original.groups]
    for mine, theirs in zip(loaded.groups, original.groups):
        np.testing.assert_array_equal(mine.faces, theirs.faces)
        if theirs.image is None:
            assert mine.image is None
        else:
            np.testing.assert_array_equal(mine.image, theirs.image)


def test_round_trip_of_the_textured_avatar(tmp_path, avatar):
    path = tmp_path / "cache" / "avatar.npz"
    save_sidecar(avatar, path)
    loaded = load_sidecar(path)
    assert loaded is not None
    _assert_same(loaded, avatar)
    assert loaded.is_textured and loaded.texture.shape == (512, 512, 3)


def test_round_trip_with_groups_and_no_optional_arrays(tmp_path):
    image = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    mesh = BodyMesh(
        vertices=np.eye(3),
        faces=np.array([[0, 1, 2], [2, 1, 0]]),
        groups=(
            TextureGroup("skin", np.array([0]), image),
            TextureGroup("plain", np.array([1]), None),
        ),
        warnings=("one", "two"),
        source_up_axis="+Y",
        source_front_axis="+Z",
    )
    save_sidecar(mesh, tmp_path / "m.npz")
    loaded = load_sidecar(tmp_path / "m.npz")
    assert loaded is not None
    _assert_same(loaded, mesh)


def test_overwrite_is_atomic_and_leaves_no_temp_files(tmp_path, avatar):
    path = tmp_path / "avatar.npz"
    save_sidecar(BodyMesh(vertices=np.eye(3), faces=np.array([[0, 1, 2]])), path)
    save_sidecar(avatar, path)
    assert [p.name for p in tmp_path.iterdir()] == ["avatar.npz"]
    assert load_sidecar(path).n_faces == avatar.n_faces


def test_missing_sidecar_is_none(tmp_path):
    assert load_sidecar(tmp_path / "absent.npz") is None
    assert load_sidecar(tmp_path) is None


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_corrupt_sidecar_is_none(tmp_path, avatar, damage):
    path = tmp_path / "avatar.npz"
    save_sidecar(avatar, path)
    data = path.read_bytes()
    damaged = {"garbage": b"not a zip at all", "truncated": data[: len(data) // 2], "empty": b""}
    path.write_bytes(damaged[damage])
    assert load_sidecar(path) is None


def _rewrite(path: Path, **changes: np.ndarray) -> None:
    with np.load(path) as stored:
        arrays = {name: stored[name] for name in stored.files}
    arrays.update(changes)
    np.savez(path, **arrays)


def test_other_format_version_is_none(tmp_path, avatar):
    path = tmp_path / "avatar.npz"
    save_sidecar(avatar, path)
    with np.load(path) as stored:
        meta = str(stored["meta"][()])
    old = meta.replace(f'"version": {FORMAT_VERSION}', f'"version": {FORMAT_VERSION - 1}')
    assert old != meta
    _rewrite(path, meta=np.array(old))
    assert load_sidecar(path) is None


def test_inconsistent_arrays_are_none(tmp_path, avatar):
    path = tmp_path / "avatar.npz"
    save_sidecar(avatar, path)
    _rewrite(path, faces=np.asarray(avatar.faces) + avatar.n_vertices)
    assert load_sidecar(path) is None
    save_sidecar(avatar, path)
    _rewrite(path, uvs=np.zeros((3, 2)))
    assert load_sidecar(path) is None


def test_reopening_from_the_sidecar_is_much_faster(tmp_path, shared_testdata):
    source = shared_testdata / "prismlabs-prism-tools" / "upscaled-avatar.obj"
    start = time.perf_counter()
    mesh = load_mesh(source)
    parse_seconds = time.perf_counter() - start
    save_sidecar(mesh, tmp_path / "m.npz")
    start = time.perf_counter()
    loaded = load_sidecar(tmp_path / "m.npz")
    sidecar_seconds = time.perf_counter() - start
    assert loaded is not None and loaded.n_faces == 49930
    assert sidecar_seconds * 10 < parse_seconds
