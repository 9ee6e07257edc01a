import itertools

import numpy as np

from esd.motion import skeleton as sk


def test_chains_agree_with_parents():
    for chain in sk.KINEMATIC_CHAINS:
        for parent, child in itertools.pairwise(chain):
            assert sk.PARENTS[child] == parent


def test_every_non_root_joint_is_in_exactly_one_chain_as_a_child():
    children = [j for chain in sk.KINEMATIC_CHAINS for j in chain[1:]]
    assert sorted(children) == list(range(1, sk.NUM_JOINTS))


def test_feature_groups_tile_the_263_dims():
    covered = np.concatenate([np.arange(s.start, s.stop) for _, s in sk.FEATURE_GROUPS])
    assert covered.tolist() == list(range(sk.FEATURE_DIM))


def test_rest_directions_are_unit_and_lengths_positive():
    norms = np.linalg.norm(sk.REST_DIRECTIONS[1:], axis=1)
    np.testing.assert_allclose(norms, 1.0)
    assert (sk.BONE_LENGTHS[1:] > 0).all()
    assert len(sk.JOINT_NAMES) == len(sk.PARENTS) == sk.NUM_JOINTS


def test_mirror_pairs_swap_left_and_right_names():
    for left, right in sk.MIRROR_PAIRS:
        assert sk.JOINT_NAMES[left].startswith("left_")
        assert sk.JOINT_NAMES[right] == "right_" + sk.JOINT_NAMES[left][len("left_") :]
