"""The BVH reader and forward kinematics: channels, rotation orders, offsets, end sites, frame
time, resampling, and FK against positions computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from esd.motion.bvh.kinematics import (
    euler_to_quaternions,
    forward_kinematics,
    local_motion,
    resample,
    slerp,
)
from esd.motion.bvh.parser import BvhError, parse_bvh, read_bvh
from esd.motion.quaternion import qrot

CHAIN = """HIERARCHY
ROOT root
{
\tOFFSET 5 6 7
\tCHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT  mid
  {
      OFFSET 1 0 0
      CHANNELS 3 Xrotation Zrotation Yrotation
      JOINT tip
      {
        OFFSET 0 1 0
        CHANNELS 0
        End Site
        {
          OFFSET 0 0 2
        }
      }
  }
}

MOTION
Frames:   2
Frame Time: 0.05
1 2 3 90 0 0   90 0 0
0 0 0 0 0 0   0 0 0
"""


def test_parser_reads_hierarchy_channels_offsets_end_sites_and_frame_time() -> None:
    bvh = parse_bvh(CHAIN, "chain.bvh")
    assert bvh.names == ["root", "mid", "tip"]
    assert bvh.parents == [-1, 0, 1]
    assert bvh.joints[0].channels == (
        "Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation",
    )  # fmt: skip
    assert bvh.joints[1].channels == ("Xrotation", "Zrotation", "Yrotation")
    assert bvh.joints[2].channels == ()
    np.testing.assert_array_equal(bvh.joints[0].offset, [5, 6, 7])
    np.testing.assert_array_equal(bvh.joints[2].end_site, [0, 0, 2])
    assert bvh.joints[1].end_site is None
    assert bvh.frame_time == pytest.approx(0.05) and bvh.fps == pytest.approx(20.0)
    assert bvh.motion.shape == (2, 9)
    assert [c.start for c in bvh.channel_columns()] == [0, 6, 9]


def test_forward_kinematics_matches_positions_computed_by_hand() -> None:
    """Frame 0: root at (1, 2, 3) (position channels replace the OFFSET) turned 90° about Z
    (x -> y); mid 90° about X (y -> z). mid = root + Rz(1, 0, 0) = (1, 3, 3);
    tip = mid + Rz Rx (0, 1, 0) = mid + Rz (0, 0, 1) = (1, 3, 4); its end site
    = tip + Rz Rx (0, 0, 2) = tip + Rz (0, -2, 0) = (3, 3, 4)."""
    bvh = parse_bvh(CHAIN)
    positions, rotations = forward_kinematics(local_motion(bvh))
    np.testing.assert_allclose(positions[0], [[1, 2, 3], [1, 3, 3], [1, 3, 4]], atol=1e-12)
    end = positions[0, 2] + qrot(rotations[0, 2], np.array([0.0, 0.0, 2.0]))
    np.testing.assert_allclose(end, [3, 3, 4], atol=1e-12)
    # frame 1: rest pose, root at the origin
    np.testing.assert_allclose(positions[1], [[0, 0, 0], [1, 0, 0], [1, 1, 0]], atol=1e-12)


def test_rotation_order_follows_the_channel_list() -> None:
    """ZX: Rz(90) Rx(90) (0,1,0) = Rz (0,0,1) = (0,0,1); XZ: Rx(90) Rz(90) (0,1,0) = Rx (-1,0,0)."""
    y = np.array([0.0, 1.0, 0.0])
    zx = euler_to_quaternions(np.array([90.0, 90.0]), "ZX")
    xz = euler_to_quaternions(np.array([90.0, 90.0]), "XZ")
    np.testing.assert_allclose(qrot(zx, y), [0, 0, 1], atol=1e-12)
    np.testing.assert_allclose(qrot(xz, y), [-1, 0, 0], atol=1e-12)
    # three axes, each the right-hand rule: Ry(90) x -> -z
    np.testing.assert_allclose(
        qrot(euler_to_quaternions(np.array([0.0, 90.0, 0.0]), "XYZ"), np.array([1.0, 0, 0])),
        [0, 0, -1],
        atol=1e-12,
    )


def test_resampling_30_to_20_fps_interpolates_rotations_and_translations() -> None:
    """4 frames at 30 fps (0.1 s) -> 3 frames at 20 fps, at source frames 0, 1.5 and 3."""
    rows = "\n".join(f"{i} 0 0 {30 * i} 0 0" for i in range(4))
    text = (
        "HIERARCHY\nROOT r\n{\nOFFSET 0 0 0\nCHANNELS 6 Xposition Yposition Zposition "
        "Zrotation Xrotation Yrotation\nEnd Site\n{\nOFFSET 1 0 0\n}\n}\n"
        f"MOTION\nFrames: 4\nFrame Time: 0.0333333\n{rows}\n"
    )
    motion = resample(local_motion(parse_bvh(text)), 20.0)
    assert motion.rotations.shape[0] == 3 and motion.frame_time == pytest.approx(0.05)
    np.testing.assert_allclose(motion.translations[:, 0, 0], [0, 1.5, 3], atol=1e-4)
    angles = 2 * np.degrees(np.arctan2(motion.rotations[:, 0, 3], motion.rotations[:, 0, 0]))
    np.testing.assert_allclose(angles, [0, 45, 90], atol=1e-3)


def test_slerp_takes_the_short_way_and_keeps_unit_length() -> None:
    a = euler_to_quaternions(np.array([10.0]), "Z")
    b = -euler_to_quaternions(np.array([50.0]), "Z")  # the same rotation, opposite sign
    mid = slerp(a, b, np.array(0.5))
    expected = euler_to_quaternions(np.array([30.0]), "Z")
    assert abs(float(np.sum(mid * expected))) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (CHAIN.replace("Frames:   2", "Frames: 3"), "expected 3 frames x 9 channels"),
        (CHAIN.replace("Xrotation Zrotation", "Wrotation Zrotation"), "unknown channel"),
        (CHAIN.replace("OFFSET 1 0 0", "OFFSET 1 zero 0"), "must be a number"),
        (CHAIN.split("MOTION")[0], "the file ends"),
        (CHAIN.replace("Frame Time: 0.05", "Frame Time: 0"), "positive number"),
    ],
)
def test_malformed_files_give_one_line_naming_the_file(text: str, message: str) -> None:
    with pytest.raises(BvhError, match=message) as err:
        parse_bvh(text, "bad.bvh")
    assert str(err.value).startswith("bad.bvh: ") and "\n" not in str(err.value)


def test_missing_file_is_a_one_line_error(tmp_path) -> None:
    with pytest.raises(BvhError, match="cannot read"):
        read_bvh(tmp_path / "absent.bvh")
