"""Exports: rotation math, BVH round trip, meshes (GLB/OBJ/PLY), NPY, HTML, safe file names."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from esd.motion.skeleton import (
    BONE_LENGTHS,
    FEATURE_DIM,
    FPS,
    JOINT_NAMES,
    NUM_JOINTS,
    PARENTS,
    REST_DIRECTIONS,
)
from viz.bvh import (
    BvhConfig,
    axis_rotation,
    bvh_text,
    euler_zxy_from_matrix,
    kabsch_rotation,
    parse_bvh,
    swing_rotation,
)
from viz.export import (
    MeshStyle,
    pose_mesh,
    read_bvh,
    safe_filename,
    trail_mesh,
    write_bvh,
    write_html,
    write_mesh,
    write_npy,
)
from viz.skeleton import Panel, motion_figure

# A rigid, non-canonical shape of the two branching groups (as in real data: hips point down
# and out, collars slightly up and back), so the branch-offset fit has something to find.
_BRANCH_DIRECTIONS = {
    1: [1.0, -0.8, 0.1],
    2: [-1.0, -0.8, 0.1],
    3: [0.0, 1.0, -0.15],
    12: [0.0, 1.0, 0.1],
    13: [1.0, 0.3, -0.2],
    14: [-1.0, 0.3, -0.2],
}


def rodrigues(axis: np.ndarray, radians: np.ndarray) -> np.ndarray:
    """Rotations ``(n, 3, 3)`` about unit-normalised ``axis (n, 3)`` by ``radians (n,)``."""
    axis = axis / np.linalg.norm(axis, axis=-1, keepdims=True)
    k = np.cross(axis[:, None, :], -np.eye(3)[None])  # (n, 3, 3): k @ v = axis x v
    angle = np.asarray(radians)[:, None, None]
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * (k @ k)


def random_rotations(n: int, rng: np.random.Generator, max_deg: float) -> np.ndarray:
    """``n`` rotations ``(n, 3, 3)`` about random axes by up to ``max_deg`` degrees."""
    return rodrigues(rng.normal(size=(n, 3)), np.radians(rng.uniform(-max_deg, max_deg, n)))


def synthetic_motion(n_frames: int = 60, seed: int = 0) -> np.ndarray:
    """Canonical-length skeleton (T, 22, 3) posed by smooth random local rotations, walking +z.

    Each joint swings (and twists) about its own random axis, ``40 deg * sin(2 pi t / T + phase)``.
    Forward kinematics written here independently of viz.bvh: ``p_j = p_parent + G_parent o_j``,
    ``G_j = G_parent L_j``.
    """
    rng = np.random.default_rng(seed)
    directions = REST_DIRECTIONS.copy()
    for joint, d in _BRANCH_DIRECTIONS.items():
        directions[joint] = np.asarray(d) / np.linalg.norm(d)
    offsets = BONE_LENGTHS[:, None] * directions  # (22, 3)
    axes, phase = rng.normal(size=(NUM_JOINTS, 3)), rng.uniform(0, 2 * np.pi, NUM_JOINTS)
    joints = np.zeros((n_frames, NUM_JOINTS, 3))
    for t in range(n_frames):
        local = rodrigues(axes, np.radians(40.0) * np.sin(2 * np.pi * t / n_frames + phase))
        world = np.zeros((NUM_JOINTS, 3, 3))
        for j, parent in enumerate(PARENTS):
            if parent < 0:
                joints[t, j] = [0.1 * np.sin(t / 5), 0.95, 0.02 * t]
                world[j] = local[j]
            else:
                joints[t, j] = joints[t, parent] + world[parent] @ offsets[j]
                world[j] = world[parent] @ local[j]
    return joints.astype(np.float32)


# --- rotation math -----------------------------------------------------------------------------


def test_euler_zxy_round_trips_through_axis_rotations() -> None:
    rng = np.random.default_rng(0)
    r = random_rotations(200, rng, 180.0)
    r[0] = axis_rotation("X", 90.0) @ axis_rotation("Y", 30.0)  # gimbal lock
    z, x, y = np.moveaxis(euler_zxy_from_matrix(r), -1, 0)
    rebuilt = axis_rotation("Z", z) @ axis_rotation("X", x) @ axis_rotation("Y", y)
    np.testing.assert_allclose(rebuilt, r, atol=1e-9)


def test_euler_zxy_matches_scipy_intrinsic_zxy() -> None:
    rotation = pytest.importorskip("scipy.spatial.transform").Rotation
    r = random_rotations(50, np.random.default_rng(1), 80.0)
    ours = euler_zxy_from_matrix(r)
    np.testing.assert_allclose(
        rotation.from_euler("ZXY", ours, degrees=True).as_matrix(), r, atol=1e-9
    )


def test_swing_rotation_maps_a_onto_b_including_opposite_and_zero() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(100, 3)), rng.normal(size=(100, 3))
    a[0], b[0] = [0.0, 1.0, 0.0], [0.0, -2.0, 0.0]  # opposite
    r = swing_rotation(a, b)
    mapped = np.einsum("nij,nj->ni", r, a / np.linalg.norm(a, axis=-1, keepdims=True))
    np.testing.assert_allclose(mapped, b / np.linalg.norm(b, axis=-1, keepdims=True), atol=1e-9)
    np.testing.assert_allclose(np.linalg.det(r), 1.0, atol=1e-9)
    np.testing.assert_allclose(swing_rotation(np.ones(3), np.zeros(3)), np.eye(3))


def test_kabsch_recovers_a_rotation_and_never_reflects() -> None:
    rng = np.random.default_rng(3)
    truth = random_rotations(20, rng, 170.0)
    p = rng.normal(size=(20, 4, 3))
    q = np.einsum("nij,nkj->nki", truth, p)
    np.testing.assert_allclose(kabsch_rotation(p, q), truth, atol=1e-9)
    mirrored = kabsch_rotation(p, p * [-1.0, 1.0, 1.0])
    np.testing.assert_allclose(np.linalg.det(mirrored), 1.0, atol=1e-9)


# --- BVH ---------------------------------------------------------------------------------------


def _bvh_round_trip(tmp_path: Path, joints: np.ndarray, config: BvhConfig | None = None):
    path = write_bvh(tmp_path / "motion.bvh", joints, FPS, config)
    back, fps = read_bvh(path)
    return np.linalg.norm(back - joints, axis=-1), fps  # (T, 22) metres


def test_bvh_round_trip_synthetic_is_exact_up_to_rounding(tmp_path: Path) -> None:
    joints = synthetic_motion()
    err, fps = _bvh_round_trip(tmp_path, joints)
    assert fps == pytest.approx(FPS)
    assert err.max() < 1e-3  # < 1 mm
    canonical, _ = _bvh_round_trip(tmp_path, joints, BvhConfig(fit_branch_offsets=False))
    assert canonical.max() > 0.02  # pure TARGET_OFFSETS cannot follow a non-canonical pelvis


def test_bvh_round_trip_official_sample(tmp_path: Path, official_sample) -> None:
    err, _ = _bvh_round_trip(tmp_path, official_sample["joints"])
    assert err.max() < 0.01  # < 1 cm (measured: ~0.002 mm)


def test_bvh_round_trip_error_with_noisy_lengths_stays_bounded(tmp_path: Path) -> None:
    joints = synthetic_motion(seed=4)
    noisy = joints + np.random.default_rng(5).normal(0, 0.003, joints.shape).astype(np.float32)
    err, _ = _bvh_round_trip(tmp_path, noisy)
    assert err.mean() < 0.01 and err.max() < 0.04  # canonical lengths absorb the noise


def test_bvh_file_structure(tmp_path: Path) -> None:
    joints = synthetic_motion(12)
    text = bvh_text(joints, fps=FPS)
    data = parse_bvh(text)
    assert sorted(data.names) == sorted(JOINT_NAMES) and data.names[0] == "pelvis"
    assert data.channels[0] == (
        "Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation",
    )  # fmt: skip
    assert all(c == ("Zrotation", "Xrotation", "Yrotation") for c in data.channels[1:])
    assert text.count("End Site") == 5 and data.motion.shape == (12, 3 + 3 * NUM_JOINTS)
    assert data.frame_time == pytest.approx(1 / FPS)
    knee = data.names.index("left_knee")
    np.testing.assert_allclose(data.offsets[knee], [0, -100 * BONE_LENGTHS[4], 0], atol=1e-4)
    np.testing.assert_allclose(data.motion[:, :3], joints[:, 0] * 100, atol=1e-4)  # cm


def test_bvh_bad_input_raises_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\(T, 22, 3\)"):
        bvh_text(np.zeros((5, 22, 2)))
    with pytest.raises(ValueError, match="HIERARCHY"):
        parse_bvh("hello")
    good = bvh_text(synthetic_motion(4))
    with pytest.raises(ValueError, match=r"truncated|MOTION"):
        parse_bvh(good[: len(good) // 2])
    with pytest.raises(ValueError, match="expected 4 frames"):
        parse_bvh(good.rsplit("\n", 2)[0])
    renamed = tmp_path / "renamed.bvh"
    renamed.write_text(good.replace("left_knee", "knee_l"))
    with pytest.raises(ValueError, match="left_knee"):
        read_bvh(renamed)


# --- meshes ------------------------------------------------------------------------------------


def test_pose_mesh_puts_a_cylinder_on_every_bone_and_a_sphere_on_every_joint() -> None:
    pose = synthetic_motion(1)[0].astype(np.float64)
    mesh = pose_mesh(pose)
    cyl_v, sph_v = 18, 42  # MeshStyle defaults: 8-sided cylinder, level-1 icosphere
    assert len(mesh.vertices) == 21 * cyl_v + 22 * sph_v
    bones = mesh.vertices[: 21 * cyl_v].reshape(21, cyl_v, 3)
    children = [j for j, p in enumerate(PARENTS) if p >= 0]
    mids = (pose[children] + pose[[PARENTS[j] for j in children]]) / 2
    np.testing.assert_allclose(bones.mean(axis=1), mids, atol=1e-9)
    spheres = mesh.vertices[21 * cyl_v :].reshape(22, sph_v, 3)
    np.testing.assert_allclose(spheres.mean(axis=1), pose, atol=1e-9)
    assert len(np.unique(mesh.visual.vertex_colors, axis=0)) == 2


def test_trail_mesh_holds_every_kth_pose_and_the_last_fading_in() -> None:
    joints = synthetic_motion(45)
    one = len(pose_mesh(joints[0]).vertices)
    trail = trail_mesh(joints, every=20, shift=(1.0, 0.0, 0.0))  # frames 0, 20, 40, 44
    assert len(trail.vertices) == 4 * one
    np.testing.assert_allclose(
        trail.vertices[3 * one :].mean(0),
        pose_mesh(joints[44]).vertices.mean(0) + np.array([3.0, 0.0, 0.0]),
        atol=1e-5,
    )
    first, last = trail.visual.vertex_colors[0], trail.visual.vertex_colors[-1]
    assert first[:3].astype(int).sum() > last[:3].astype(int).sum()  # the start is lighter
    with pytest.raises(ValueError, match="every"):
        trail_mesh(joints, every=0)


@pytest.mark.parametrize("suffix", [".glb", ".obj", ".ply"])
def test_mesh_files_load_back(tmp_path: Path, suffix: str) -> None:
    joints = synthetic_motion(30)
    path = write_mesh(tmp_path / f"trail{suffix}", joints, trail_every=10)
    loaded = trimesh.load(path, force="mesh")
    assert len(loaded.vertices) > 0 and len(loaded.faces) == len(trail_mesh(joints, 10).faces)
    shown = joints[[0, 10, 20, 29]].reshape(-1, 3)  # the trail's poses
    lo, hi = shown.min(0), shown.max(0)
    radius = MeshStyle().joint_radius
    np.testing.assert_allclose(loaded.bounds, [lo - radius, hi + radius], atol=2e-3)
    single = write_mesh(tmp_path / f"pose{suffix}", joints, frame=5)
    assert len(trimesh.load(single, force="mesh").faces) == len(pose_mesh(joints[5]).faces)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_write_mesh_rejects_bad_requests(tmp_path: Path) -> None:
    joints = synthetic_motion(5)
    with pytest.raises(ValueError, match="format"):
        write_mesh(tmp_path / "x.stl", joints)
    with pytest.raises(ValueError, match="not both"):
        write_mesh(tmp_path / "x.glb", joints, frame=0, trail_every=2)
    with pytest.raises(ValueError, match="out of range"):
        write_mesh(tmp_path / "x.glb", joints, frame=5)
    with pytest.raises(ValueError, match=r"\(22, 3\)"):
        pose_mesh(joints)
    assert write_mesh(tmp_path / "one.glb", joints[0]).is_file()  # a single (22, 3) pose


# --- NPY, HTML, names --------------------------------------------------------------------------


def test_write_npy_names_and_shapes(tmp_path: Path) -> None:
    joints = synthetic_motion(10).astype(np.float64)
    paths = write_npy(tmp_path / "sub" / "kick.npy", joints, np.zeros((9, FEATURE_DIM)))
    assert [p.name for p in paths] == ["kick_joints.npy", "kick_features.npy"]
    back = np.load(paths[0])
    assert back.shape == (10, NUM_JOINTS, 3) and back.dtype == np.float32
    assert np.load(paths[1]).shape == (9, FEATURE_DIM)
    assert write_npy(tmp_path / "walk", joints)[0].name == "walk_joints.npy"
    with pytest.raises(ValueError, match=r"\(T, 22, 3\)"):
        write_npy(tmp_path / "bad", joints[:, :20])
    with pytest.raises(ValueError, match="263"):
        write_npy(tmp_path / "bad", joints, np.zeros((10, 262)))


def test_write_html_is_standalone(tmp_path: Path) -> None:
    fig = motion_figure([Panel("a", synthetic_motion(8))])
    html = write_html(fig, tmp_path / "fig.html").read_text()
    assert "Plotly.newPlot" in html and "Plotly.addFrames" in html
    assert "esdLinkCameras(document.getElementById(" in html and "{plot_id}" not in html
    assert "<script src" not in html  # plotly.js inline: no CDN, no side file
    assert len(html) > 1_000_000  # plotly.js is inlined


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A person kicks with the LEFT leg!", "a_person_kicks_with_the_left_leg"),
        ("../../etc/passwd", "etc_passwd"),
        ("", "motion"),
        ("   ...   ", "motion"),
        ("人が蹴る", "motion"),
        ("Café déjà vu", "cafe_deja_vu"),
        ("-rf /", "rf"),
        ("nul", "nul_"),
        ("a\\b/c:d*e?f", "a_b_c_d_e_f"),
    ],
)
def test_safe_filename(text: str, expected: str) -> None:
    assert safe_filename(text) == expected


def test_safe_filename_length_and_charset() -> None:
    long = safe_filename("kick " * 100, max_len=60)
    assert len(long) <= 60 and not long.endswith("_")
    assert set(safe_filename("Ünïcödé 🚀 text", max_len=8)) <= set(
        "abcdefghijklmnopqrstuvwxyz0123456789_-"
    )
    with pytest.raises(ValueError, match="max_len"):
        safe_filename("x", max_len=0)
