"""Rig maps and rest geometry on the three known rigs (CMU and Mixamo samples written here,
Bandai-Namco from the shared pack), the unknown-rig line, units and handedness."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from esd.motion.bvh.convert import ConvertedClip, convert_bvh
from esd.motion.bvh.parser import parse_bvh, read_bvh
from esd.motion.bvh.rest import TEMPLATE_DIRECTIONS, detect_unit
from esd.motion.bvh.rigs import UnknownRigError, match_rig, normalise_name
from esd.motion.features import canonical_joints, joints_to_features
from esd.motion.skeleton import JOINT_INDEX
from tests.bvh_samples import (  # noqa: F401 (bandai_dir is a fixture)
    CMU_UNITS,
    Node,
    bandai_dir,
    bvh_text,
    cmu_skeleton,
    mirror_bvh,
    mixamo_skeleton,
    sample_motion,
)

J = JOINT_INDEX


def convert(root: Node, motion: np.ndarray, name: str = "sample.bvh") -> ConvertedClip:
    return convert_bvh(parse_bvh(bvh_text(root, motion), name))


@pytest.mark.parametrize(
    ("make", "per_m", "rig", "unit"),
    [
        (cmu_skeleton, CMU_UNITS, "CMU (cgspeed)", "cmu"),
        (mixamo_skeleton, 100.0, "Mixamo", "cm"),
    ],
)
def test_written_samples_map_to_their_rig_with_smpl_conventions(make, per_m, rig, unit) -> None:
    root = make()
    clip = convert(root, sample_motion(root, per_m))
    assert (clip.rig, clip.unit, clip.up, clip.mirrored) == (rig, unit, "+y", False)
    assert clip.joints.shape == (20, 22, 3)  # 30 frames at 30 fps -> 20 frames at 20 fps
    g = canonical_joints(clip.joints)  # retargeted, floored, frame 0 facing +Z
    assert g[..., 1].min() == pytest.approx(0.0, abs=1e-9)
    first = g[0]
    assert first[J["left_wrist"], 0] > 0.5 > -0.5 > first[J["right_wrist"], 0]  # left at +X
    assert first[J["left_foot"], 2] > first[J["left_ankle"], 2] + 0.05  # toes point +Z
    assert abs(first[J["left_wrist"], 1] - first[J["left_shoulder"], 1]) < 0.03  # T-pose arms
    assert first[J["head"], 1] > first[J["neck"], 1] > first[J["spine3"], 1] > first[0, 1]


@pytest.mark.parametrize("make", [cmu_skeleton, mixamo_skeleton])
def test_pelvis_and_torso_take_the_smpl_like_rest_geometry(make) -> None:
    """Without the template, Mixamo's pelvis-hip bones point 17° and CMU's 22° away from SMPL's
    (hips too high, or forward); on the canonical frame 0 every torso bone points as the
    SMPL-like template says in the body's frame (x left, y hips to shoulders), within 10°."""
    root = make()
    g = canonical_joints(convert(root, sample_motion(root, 100.0)).joints)[0]
    up = g[[J["left_shoulder"], J["right_shoulder"]]].mean(0) - g[
        [J["left_hip"], J["right_hip"]]
    ].mean(0)
    left = g[J["left_hip"]] - g[J["right_hip"]] + g[J["left_shoulder"]] - g[J["right_shoulder"]]
    y = up / np.linalg.norm(up)
    x = left - (left @ y) * y
    x /= np.linalg.norm(x)
    axes = np.stack([x, y, np.cross(x, y)])  # rows: body axes in canonical coordinates
    for name, parent in [("left_hip", "pelvis"), ("right_hip", "pelvis"), ("head", "neck"),
                         ("left_collar", "spine3"), ("left_shoulder", "left_collar")]:  # fmt: skip
        bone = axes @ (g[J[name]] - g[J[parent]])
        expected = np.array(TEMPLATE_DIRECTIONS[name])
        cos = bone @ expected / np.linalg.norm(bone) / np.linalg.norm(expected)
        assert np.degrees(np.arccos(min(cos, 1.0))) < 10.0, name


def test_mixamo_in_metres_and_centimetres_gives_the_same_features() -> None:
    cm, m = mixamo_skeleton(1.0), mixamo_skeleton(0.01)
    clip_cm, clip_m = convert(cm, sample_motion(cm, 100.0)), convert(m, sample_motion(m, 1.0))
    assert (clip_cm.unit, clip_m.unit) == ("cm", "m")
    np.testing.assert_allclose(clip_cm.joints, clip_m.joints, atol=1e-9)
    np.testing.assert_allclose(
        joints_to_features(clip_cm.joints), joints_to_features(clip_m.joints), atol=1e-5
    )


def test_detect_unit_reads_the_leg_length() -> None:
    assert detect_unit(84.0) == "cm" and detect_unit(0.8) == "m" and detect_unit(900.0) == "mm"
    assert detect_unit(14.6) == "cmu" and detect_unit(33.0) == "inch"


def test_a_mirrored_file_is_detected_and_gives_the_same_motion() -> None:
    """x -> -x with the same names is a left-handed recording: the body's left would land at -X.
    The importer sees the toes point backwards for the names' forward and undoes it."""
    root = cmu_skeleton()
    motion = sample_motion(root, CMU_UNITS)
    plain = convert(root, motion)
    mirrored = convert(*mirror_bvh(root, motion))
    assert mirrored.mirrored and not plain.mirrored
    np.testing.assert_allclose(
        joints_to_features(mirrored.joints), joints_to_features(plain.joints), atol=1e-4
    )


def test_an_unknown_rig_gets_one_line_naming_the_smpl_joints_it_lacks() -> None:
    root = cmu_skeleton()
    for node in root.walk():
        node.name = node.name.replace("UpLeg", "Thigh").replace("ForeArm", "LowerArm")
    text = bvh_text(root, sample_motion(root, CMU_UNITS))
    with pytest.raises(UnknownRigError) as err:
        convert_bvh(parse_bvh(text, "odd.bvh"))
    message = str(err.value)
    assert "\n" not in message and message.startswith("odd.bvh: unknown rig")
    for smpl in ("left_hip", "right_hip", "left_elbow", "right_elbow"):
        assert smpl in message
    assert "left_knee" not in message and "head" not in message


def test_name_normalisation_and_rig_preference() -> None:
    assert normalise_name("mixamorig:LeftUpLeg") == "leftupleg"
    assert normalise_name("UpperLeg_L") == "upperlegl"
    cmu = [n.name for n in cmu_skeleton().walk()]
    mixamo = [n.name for n in mixamo_skeleton().walk()]
    assert match_rig(cmu)[0].name == "CMU (cgspeed)"
    assert match_rig(mixamo)[0].name == "Mixamo"
    _, index = match_rig(cmu)
    assert cmu[index["left_wrist"]] == "LeftHand" and cmu[index["right_foot"]] == "RightToeBase"


def test_bandai_rig_from_the_pack(bandai_dir: Path, tmp_path: Path) -> None:  # noqa: F811
    """A Bandai-Namco walk: rig, centimetres, 30 -> 20 fps, the pelvis lifted above the hips
    (the rig's Hips joint sits on the hip line), and a walking speed near the real 1.2 m/s."""
    source = bandai_dir / "bvh" / "dataset-2_walk_normal_007.bvh"
    local = shutil.copy(source, tmp_path / source.name)
    bvh = read_bvh(local)
    clip = convert_bvh(bvh)
    assert (clip.rig, clip.unit, clip.up, clip.mirrored) == ("Bandai-Namco", "cm", "+y", False)
    assert clip.source_fps == pytest.approx(30.0)
    assert clip.joints.shape[0] == int((bvh.num_frames - 1) / 30 * 20 + 1e-6) + 1
    g = canonical_joints(clip.joints)
    lift = g[:, 0, 1] - 0.5 * (g[:, J["left_hip"], 1] + g[:, J["right_hip"], 1])
    assert 0.06 < float(np.median(lift)) < 0.10  # template: 0.103 m x 0.8
    speed = np.linalg.norm(np.diff(g[:, 0, [0, 2]], axis=0), axis=1).mean() * 20
    assert 0.9 < speed < 1.6
