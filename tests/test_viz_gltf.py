"""The animated GLB: container layout, keyframes, exact joint positions by forward kinematics
written here, the structural check (and its mutants), and the Khronos glTF validator."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
import trimesh

from esd.motion.skeleton import FPS, JOINT_NAMES, NUM_JOINTS, PARENTS
from tests.test_viz_export import synthetic_motion
from tests.test_viz_skeleton import random_motion
from viz.animated_glb import animated_glb_bytes, unit_tube, uv_sphere
from viz.export import write_animated_glb
from viz.gltf import GlbFile, accessor_array, pack_glb, read_glb
from viz.gltf_check import glb_problems
from viz.skeleton_tracks import continuous, quaternion_xyzw

VALIDATOR_VERSION = "2.0.0-dev.3.10"  # npm gltf-validator used by the Khronos test
BONES = [j for j, p in enumerate(PARENTS) if p >= 0]


def quat_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrix ``(3, 3)`` of a unit quaternion (x, y, z, w), written independently."""
    x, y, z, w = q / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def node_worlds(glb: GlbFile, frame: int | None) -> list[np.ndarray]:
    """World matrices ``(4, 4)`` of every node at keyframe ``frame`` (None: the nodes' static
    TRS), composing ``T R S`` down the hierarchy from the scene's roots."""
    doc = glb.document
    trs = [
        {
            "translation": np.array(n.get("translation", [0.0, 0.0, 0.0])),
            "rotation": np.array(n.get("rotation", [0.0, 0.0, 0.0, 1.0])),
            "scale": np.array(n.get("scale", [1.0, 1.0, 1.0])),
        }
        for n in doc["nodes"]
    ]
    if frame is not None:
        animation = doc["animations"][0]
        for channel in animation["channels"]:
            sampler = animation["samplers"][channel["sampler"]]
            values = accessor_array(glb, sampler["output"])
            trs[channel["target"]["node"]][channel["target"]["path"]] = values[frame]
    worlds: list[np.ndarray | None] = [None] * len(trs)

    def visit(node: int, parent: np.ndarray) -> None:
        local = np.eye(4)
        local[:3, :3] = quat_matrix(trs[node]["rotation"]) * trs[node]["scale"]  # R @ diag(S)
        local[:3, 3] = trs[node]["translation"]
        worlds[node] = parent @ local
        for child in doc["nodes"][node].get("children", []):
            visit(child, worlds[node])

    for root in doc["scenes"][doc["scene"]]["nodes"]:
        visit(root, np.eye(4))
    return worlds


def joint_nodes(glb: GlbFile) -> list[int]:
    names = [n.get("name") for n in glb.document["nodes"]]
    return [names.index(name) for name in JOINT_NAMES]


@pytest.fixture(scope="module")
def wild_motion() -> np.ndarray:
    """40 frames whose bones change length every frame (nothing a rigid rig could follow)."""
    return random_motion(40, 7)


@pytest.fixture(scope="module")
def wild_glb(wild_motion) -> GlbFile:
    return read_glb(animated_glb_bytes(wild_motion))


def test_one_animation_with_a_keyframe_per_frame_at_fps(wild_glb, wild_motion) -> None:
    doc = wild_glb.document
    assert doc["asset"]["version"] == "2.0" and len(doc["animations"]) == 1
    animation = doc["animations"][0]
    inputs = {s["input"] for s in animation["samplers"]}
    assert len(inputs) == 1  # one shared timeline
    times = accessor_array(wild_glb, inputs.pop())
    np.testing.assert_allclose(times, np.arange(len(wild_motion)) / FPS, atol=1e-6)
    targets = {(c["target"]["node"], c["target"]["path"]) for c in animation["channels"]}
    assert len(targets) == len(animation["channels"]) == 2 * NUM_JOINTS + 2 * len(BONES)
    animated_nodes = {node for node, _ in targets}
    assert animated_nodes == set(range(1, len(doc["nodes"])))  # every node but the root
    assert all(s["interpolation"] == "LINEAR" for s in animation["samplers"])


@pytest.mark.parametrize("frame", [0, 13, 39])
def test_node_trs_at_frame_k_reproduces_the_joint_positions(wild_glb, wild_motion, frame) -> None:
    worlds = node_worlds(wild_glb, frame)
    got = np.array([worlds[n][:3, 3] for n in joint_nodes(wild_glb)])  # (22, 3)
    np.testing.assert_allclose(got, wild_motion[frame], atol=1e-4)


def test_bone_tubes_span_parent_to_child_and_the_static_pose_is_frame_0(
    wild_glb, wild_motion
) -> None:
    names = [n.get("name") for n in wild_glb.document["nodes"]]
    for frame in (None, 21):
        worlds = node_worlds(wild_glb, frame)
        pose = wild_motion[0 if frame is None else frame]
        for child in BONES:
            world = worlds[names.index(f"bone_{JOINT_NAMES[child]}")]
            np.testing.assert_allclose(world[:3, 3], pose[PARENTS[child]], atol=1e-4)
            tip = world @ np.array([0.0, 1.0, 0.0, 1.0])  # the tube's far end
            np.testing.assert_allclose(tip[:3], pose[child], atol=1e-4)


def test_a_real_clip_and_a_single_pose(official_sample, tmp_path: Path) -> None:
    joints = official_sample["joints"]
    glb = read_glb(write_animated_glb(tmp_path / "clip.glb", joints).read_bytes())
    worlds = node_worlds(glb, len(joints) - 1)
    got = np.array([worlds[n][:3, 3] for n in joint_nodes(glb)])
    np.testing.assert_allclose(got, joints[-1], atol=1e-4)
    pose = read_glb(write_animated_glb(tmp_path / "pose.glb", joints[5]).read_bytes())
    assert accessor_array(pose, pose.document["animations"][0]["samplers"][0]["input"]).size == 1
    with pytest.raises(ValueError, match=r"\.glb"):
        write_animated_glb(tmp_path / "clip.gltf", joints)
    with pytest.raises(ValueError, match="fps"):
        animated_glb_bytes(joints, fps=0)


def test_trimesh_reads_the_static_pose(tmp_path: Path) -> None:
    joints = synthetic_motion(20)
    scene = trimesh.load(write_animated_glb(tmp_path / "m.glb", joints))
    assert len(scene.graph.nodes_geometry) == NUM_JOINTS + len(BONES)
    radius = 0.03  # MeshStyle().joint_radius
    lo, hi = joints[0].min(axis=0) - radius, joints[0].max(axis=0) + radius
    np.testing.assert_allclose(scene.bounds, [lo, hi], atol=2e-3)


def test_left_and_right_bones_have_their_own_materials(wild_glb) -> None:
    doc = wild_glb.document
    material_of = {}
    for node in doc["nodes"]:
        if node.get("name", "").startswith("bone_"):
            mesh = doc["meshes"][node["mesh"]]
            material_of[node["name"][5:]] = mesh["primitives"][0]["material"]
    left, right = material_of["left_knee"], material_of["right_knee"]
    assert len({left, right, material_of["spine2"]}) == 3
    assert material_of["left_elbow"] == left and material_of["right_wrist"] == right
    base = [doc["materials"][m]["pbrMetallicRoughness"]["baseColorFactor"] for m in (left, right)]
    assert sum(base[0][:3]) < sum(base[1][:3])  # left darker than right


def test_quaternions_match_scipy_and_stay_continuous() -> None:
    rotation = pytest.importorskip("scipy.spatial.transform").Rotation
    rng = np.random.default_rng(0)
    r = rotation.random(300, random_state=1).as_matrix()
    r[:3] = [np.diag([1.0, -1.0, -1.0]), np.diag([-1.0, 1.0, -1.0]), np.diag([-1.0, -1.0, 1.0])]
    q = quaternion_xyzw(r)
    want = rotation.from_matrix(r).as_quat()  # (x, y, z, w)
    np.testing.assert_allclose(np.abs(np.sum(q * want, axis=-1)), 1.0, atol=1e-9)  # q = +-want
    np.testing.assert_allclose(np.linalg.norm(q, axis=-1), 1.0, atol=1e-12)
    flipped = want[:50] * rng.choice([-1.0, 1.0], size=(50, 1))
    smooth = continuous(flipped)
    assert (np.sum(smooth[1:] * smooth[:-1], axis=-1) >= 0).all()
    np.testing.assert_allclose(np.abs(smooth), np.abs(flipped))


@pytest.mark.parametrize("mesh", ["sphere", "tube"])
def test_meshes_wind_outwards_without_degenerate_triangles(mesh: str) -> None:
    if mesh == "sphere":
        vertices, faces = uv_sphere(6, 12)
        centre = vertices[faces].mean(axis=1)  # outward direction: from the sphere's centre
    else:
        vertices, _, faces = unit_tube(8)
        centre = vertices[faces].mean(axis=1) * [1.0, 0.0, 1.0]  # from the tube's axis
    tri = vertices[faces]  # (F, 3, 3)
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    assert (np.linalg.norm(normal, axis=1) > 1e-6).all()
    assert (np.einsum("fi,fi->f", normal, centre) > 0).all()


# --- the structural check ----------------------------------------------------------------------


def _mutant(glb: GlbFile, edit) -> bytes:
    doc = json.loads(json.dumps(glb.document))
    binary = bytearray(glb.binary)
    edit(doc, binary)
    return pack_glb(doc, bytes(binary))


def _swap_first_two_times(doc: dict, binary: bytearray) -> None:
    view = doc["bufferViews"][doc["accessors"][doc["animations"][0]["samplers"][0]["input"]][
        "bufferView"
    ]]  # fmt: skip
    start = view["byteOffset"]
    binary[start : start + 8] = binary[start + 4 : start + 8] + binary[start : start + 4]


def _second_parent(doc: dict, binary: bytearray) -> None:
    doc["nodes"][0]["children"].append(3)  # node 3 already hangs under its joint


def _wrong_max(doc: dict, binary: bytearray) -> None:
    position = doc["meshes"][0]["primitives"][0]["attributes"]["POSITION"]
    doc["accessors"][position]["max"][0] += 0.01


def _index_past_end(doc: dict, binary: bytearray) -> None:
    view = doc["bufferViews"][doc["accessors"][doc["meshes"][0]["primitives"][0]["indices"]][
        "bufferView"
    ]]  # fmt: skip
    binary[view["byteOffset"] : view["byteOffset"] + 2] = struct.pack("<H", 60000)


def _scale_as_rotation(doc: dict, binary: bytearray) -> None:
    channel = next(c for c in doc["animations"][0]["channels"] if c["target"]["path"] == "scale")
    channel["target"]["path"] = "rotation"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_swap_first_two_times, "strictly increasing"),
        (_second_parent, "two parents"),
        (_wrong_max, "max"),
        (_index_past_end, "indices"),
        (_scale_as_rotation, "must be VEC4"),
    ],
)
def test_the_structural_check_passes_ours_and_catches_mutants(wild_glb, edit, message) -> None:
    assert glb_problems(pack_glb(wild_glb.document, wild_glb.binary)) == []
    problems = glb_problems(_mutant(wild_glb, edit))
    assert any(message in p for p in problems), problems


def test_the_structural_check_reads_the_layout(wild_motion) -> None:
    data = animated_glb_bytes(wild_motion)
    assert glb_problems(data) == []
    assert "header says" in glb_problems(data[:-4])[0]
    assert "not a glTF 2 binary" in glb_problems(b"GLTF" + data[4:])[0]
    static = trimesh.creation.box().export(file_type="glb")  # another writer's file
    assert glb_problems(static) == []


# --- the Khronos validator (npm gltf-validator) ------------------------------------------------


def validator_package() -> Path:
    """Folder of the npm ``gltf-validator`` package: ``$ESD_GLTF_VALIDATOR`` or the global
    npm root. Skips when node or the package is missing; fails instead with
    ``ESD_REQUIRE_GLTF_VALIDATOR=1`` (set it where .ci/run installs the package)."""
    required = os.environ.get("ESD_REQUIRE_GLTF_VALIDATOR", "") not in ("", "0")
    missing = None
    node, npm = shutil.which("node"), shutil.which("npm")
    candidates = [os.environ.get("ESD_GLTF_VALIDATOR", "")]
    if node and npm:
        root = subprocess.run([npm, "root", "-g"], capture_output=True, text=True, timeout=60)
        candidates.append(str(Path(root.stdout.strip()) / "gltf-validator"))
    found = [Path(c) for c in candidates if c and (Path(c) / "package.json").is_file()]
    if not node:
        missing = "node is not installed (apt-get install -y nodejs npm)"
    elif not found:
        missing = f"npm package gltf-validator not found (npm install -g gltf-validator@{VALIDATOR_VERSION})"  # noqa: E501
    if missing:
        if required:
            pytest.fail(missing + "; ESD_REQUIRE_GLTF_VALIDATOR=1 makes this an error")
        pytest.skip(missing)
    return found[0]


VALIDATE_JS = """
const fs = require('fs');
const validator = require(process.argv[1]);
validator.validateBytes(new Uint8Array(fs.readFileSync(process.argv[2])),
                        {maxIssues: 0, writeTimestamp: false})
  .then((report) => console.log(JSON.stringify(report.issues)))
  .catch((error) => { console.error(String(error)); process.exit(2); });
"""


@pytest.mark.parametrize("frames", [40, 1])
def test_the_khronos_validator_finds_no_issue(tmp_path: Path, frames: int) -> None:
    package = validator_package()
    path = write_animated_glb(tmp_path / "m.glb", synthetic_motion(frames))
    done = subprocess.run(
        ["node", "-e", VALIDATE_JS, str(package), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    issues = json.loads(done.stdout)
    assert (issues["numErrors"], issues["numWarnings"], issues["numInfos"]) == (0, 0, 0), issues
