"""The reference action: kicks lift the kicking foot high, keep the support foot planted."""

import numpy as np
import pytest

from esd.corpus.actions import ActionRequest, generate_action
from esd.corpus.physics import ground
from esd.motion.skeleton import JOINT_INDEX, NUM_JOINTS


@pytest.mark.parametrize("variant", ["front", "side", "roundhouse"])
@pytest.mark.parametrize("side", ["left", "right"])
def test_kick_lifts_the_named_foot_and_plants_the_other(variant, side):
    rng = np.random.default_rng(1)
    result = generate_action(ActionRequest("kick", variant, side, "normal", 2), rng)
    joints = ground(result.motion)
    kicking, support = (
        JOINT_INDEX[f"{side}_foot"],
        JOINT_INDEX[f"{'left' if side == 'right' else 'right'}_foot"],
    )
    assert joints[:, kicking, 1].max() > 0.45  # the kicking foot rises well above the floor
    assert joints[:, support, 1].max() < 0.06  # the support foot stays down
    slide = np.linalg.norm(np.diff(joints[:, support][:, [0, 2]], axis=0), axis=1)
    assert slide.max() < 0.005  # m per frame
    speed = np.linalg.norm(np.diff(joints, axis=0), axis=-1) * 20  # m/s
    assert speed.max() < 16.0  # a fast snap, several frames long, no teleport
    assert joints[..., 1].min() >= 0.0
    assert result.facts.concept == "kick" and result.facts.side == side
    assert result.motion.planted.shape == (result.motion.pose.frames, NUM_JOINTS)


def test_bad_requests_are_refused():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="invalid variant"):
        generate_action(ActionRequest("kick", "flying", "left"), rng)
    with pytest.raises(ValueError, match="invalid reps"):
        generate_action(ActionRequest("kick", "front", "left", reps=9), rng)
