"""Gait numbers (esd.evaluation.gait) on synthetic joints whose answers are known in closed form:
a walker with planted feet, a glide, a jump and a kick."""

import numpy as np
import pytest

from esd.evaluation import gait
from esd.motion.skeleton import FPS, NUM_JOINTS

SWING_FRAMES = 10  # frames of one swing; the other foot is planted meanwhile
TOE_REST = 0.03  # toe joint height when planted (m)
ANKLE_ABOVE_TOE = 0.08  # (m)
STEP = 0.5  # each swing moves a foot this far forward (m)
LIFT = {0: 0.10, 1: 0.14}  # swing height of the left / right toe (m)
PEAK = np.sin(np.pi * 0.45)  # largest sin(pi (i + 0.5) / 10) over the swing's frames


def body(frames: int) -> np.ndarray:
    joints = np.zeros((frames, NUM_JOINTS, 3))
    joints[:, :, 1] = 1.0  # every joint 1 m up unless set below
    return joints


def set_feet(joints: np.ndarray, toes: np.ndarray) -> np.ndarray:
    """Toes (T, 2, 3) into the skeleton, ankles above and behind them, pelvis between them."""
    joints[:, list(gait.TOES)] = toes
    joints[:, list(gait.ANKLES)] = toes + np.array([0.0, ANKLE_ABOVE_TOE, -0.1])
    joints[:, gait.PELVIS, [0, 2]] = toes[..., [0, 2]].mean(axis=1)
    return joints


def walker(swings: int = 8) -> np.ndarray:
    """Feet alternate: one swings (forward STEP, up LIFT[k] sin) while the other is planted."""
    frames = swings * SWING_FRAMES
    toes = np.zeros((frames, 2, 3))
    toes[:, 0, 0], toes[:, 1, 0] = 0.2, -0.2  # feet apart along x
    toes[:, :, 1] = TOE_REST
    z = np.array([0.0, STEP / 2])  # left behind, right half a step ahead
    for swing in range(swings):
        k = swing % 2
        for i in range(SWING_FRAMES):
            t, s = swing * SWING_FRAMES + i, (i + 0.5) / SWING_FRAMES
            toes[t, :, 2] = z
            toes[t, k, 2] = z[k] + STEP * s
            toes[t, k, 1] = TOE_REST + LIFT[k] * np.sin(np.pi * s)
        z[k] += STEP
    return set_feet(body(frames), toes)


def glide(frames: int = 40, speed: float = 1.0) -> np.ndarray:
    """Both toes on the floor, sliding forward at ``speed`` m/s."""
    toes = np.zeros((frames, 2, 3))
    toes[:, 0, 0], toes[:, 1, 0] = 0.2, -0.2
    toes[:, :, 1] = TOE_REST
    toes[:, :, 2] = (np.arange(frames) * speed / FPS)[:, None]
    return set_feet(body(frames), toes)


def test_planted_walker_does_not_glide_and_lifts_its_ankles():
    joints = walker()
    assert gait.support_speed_cm_s(joints) == pytest.approx(0.0, abs=1e-9)
    left, right = gait.ankle_lifts_cm(joints)
    assert left == pytest.approx(100 * LIFT[0] * PEAK)
    assert right == pytest.approx(100 * LIFT[1] * PEAK)
    assert gait.ankle_lift_cm(joints) == pytest.approx(100 * LIFT[0] * PEAK)  # the smaller
    assert gait.jump_clearance_cm(joints) == pytest.approx(0.0, abs=1e-9)  # one foot always down
    # the pelvis advances one step (STEP / 2 for the mean of the feet) per swing
    assert gait.pelvis_speed_m_s(joints) == pytest.approx(STEP / 2 / (SWING_FRAMES / FPS))


def test_glide_moves_the_supporting_foot_at_the_body_speed():
    joints = glide(speed=1.0)
    assert gait.support_speed_cm_s(joints) == pytest.approx(100.0)
    assert gait.ankle_lift_cm(joints) == pytest.approx(0.0, abs=1e-9)
    assert gait.pelvis_speed_m_s(joints) == pytest.approx(1.0)
    assert gait.support_speed_cm_s(joints, fps=10) == pytest.approx(50.0)


def test_supporting_foot_is_the_lower_toe_even_when_it_slides():
    """The lower toe slides at 0.6 m/s while the higher one swings fast: the number is 60."""
    frames = 30
    toes = np.zeros((frames, 2, 3))
    toes[:, 0, 1] = TOE_REST + 0.2  # left toe up, moving 3 m/s
    toes[:, 0, 2] = np.arange(frames) * 3.0 / FPS
    toes[:, 1, 1] = TOE_REST  # right toe down, sliding 0.6 m/s
    toes[:, 1, 2] = np.arange(frames) * 0.6 / FPS
    assert gait.support_speed_cm_s(set_feet(body(frames), toes)) == pytest.approx(60.0)
    toes[:, :, 1] = toes[:, ::-1, 1]  # swap heights: now the fast toe is the lower one
    assert gait.support_speed_cm_s(set_feet(body(frames), toes)) == pytest.approx(300.0)


def test_jump_clears_the_floor_and_a_kick_rises_above_it():
    frames = 40
    toes = np.zeros((frames, 2, 3))
    toes[:, 0, 0], toes[:, 1, 0] = 0.2, -0.2
    toes[:, :, 1] = TOE_REST
    toes[20:25, 0, 1] += 0.25  # left toe up for frames 20-24
    toes[22:30, 1, 1] += 0.20  # right toe up for frames 22-29: both up on 22-24
    joints = set_feet(body(frames), toes)
    assert gait.jump_clearance_cm(joints) == pytest.approx(20.0)  # the lower toe on 22-24
    assert gait.kick_height_m(joints) == pytest.approx(0.25)  # above the floor, not above 0
    toes[24, 1, 1] = TOE_REST  # the right foot touches down on 24 only: still 20 on 22-23
    assert gait.jump_clearance_cm(set_feet(body(frames), toes)) == pytest.approx(20.0)
    toes[22:25, 1, 1] = TOE_REST  # never both up together: no clearance
    assert gait.jump_clearance_cm(set_feet(body(frames), toes)) == pytest.approx(0.0)
    toes[:, 1, 1] += 0.03  # the right toe rests 3 cm higher (another rig): each toe's own floor
    toes[22:30, 1, 1] += 0.20
    assert gait.jump_clearance_cm(set_feet(body(frames), toes)) == pytest.approx(20.0)


def test_bad_joints_are_refused_in_one_line():
    with pytest.raises(ValueError, match="joints must be"):
        gait.support_speed_cm_s(np.zeros((10, 21, 3)))
    with pytest.raises(ValueError, match="joints must be"):
        gait.kick_height_m(np.zeros((1, NUM_JOINTS, 3)))


def test_summary_counts_clips_meeting_the_target_with_intervals():
    values = [1.0, 2.0, 3.0, 4.0, 10.0]
    above = gait.summarise(values, target=3.0, at_least=True)
    below = gait.summarise(values, target=3.0, at_least=False)
    assert above.n == 5 and above.mean == pytest.approx(4.0) and above.median == 3.0
    assert above.meets == 3 and below.meets == 3  # 3, 4, 10 and 1, 2, 3
    assert gait.summarise(values, target=2.5, at_least=False).meets == 2
    assert above.ci95[0] < above.mean < above.ci95[1]
    assert above.ci95[0] >= 1.0 and above.ci95[1] <= 10.0
    assert 0 < above.share_ci95[0] < 0.6 < above.share_ci95[1] < 1
    assert gait.summarise(values).share is None
    assert "meets target 3/5" in above.line("cm")
    with pytest.raises(ValueError, match="non-empty"):
        gait.summarise([])
    with pytest.raises(ValueError, match="non-empty"):
        gait.summarise([1.0, float("nan")])


def _bench_vae():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_vae.py"
    spec = importlib.util.spec_from_file_location("bench_vae", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mpjpe_global_counts_root_drift_and_root_relative_does_not():
    mpjpe_cm = _bench_vae().mpjpe_cm
    truth = walker(2)
    shifted = truth + np.array([0.03, 0.0, 0.04])  # every joint 5 cm off
    assert mpjpe_cm(shifted, truth) == pytest.approx(5.0)
    assert mpjpe_cm(shifted, truth, root_relative=True) == pytest.approx(0.0, abs=1e-9)
    bent = truth.copy()
    bent[:, 20, 1] += 0.22  # one joint of 22 is 22 cm off: 1 cm per joint on average
    assert mpjpe_cm(bent, truth) == pytest.approx(1.0)
    assert mpjpe_cm(bent, truth, root_relative=True) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="need two"):
        mpjpe_cm(truth[:-1], truth)


def test_action_frames_keeps_a_take_cuts_one_segment_and_skips_the_rest() -> None:
    joints = np.arange(40 * 22 * 3, dtype=float).reshape(40, 22, 3)
    assert gait.action_frames(joints, {}) is joints  # a real take: whole
    one = {"segments": [{"start": 5, "end": 25}]}
    np.testing.assert_array_equal(gait.action_frames(joints, one), joints[5:25])
    two = {"segments": [{"start": 0, "end": 20}, {"start": 20, "end": 40}]}
    assert gait.action_frames(joints, two) is None
    short = {"segments": [{"start": 0, "end": gait.MIN_ACTION_FRAMES - 1}]}
    assert gait.action_frames(joints, short) is None
    edge = {"segments": [{"start": 0, "end": gait.MIN_ACTION_FRAMES}]}
    assert len(gait.action_frames(joints, edge)) == gait.MIN_ACTION_FRAMES


class _RecordingModel:
    """Stands in for a MotionGenerator: records the batches the round trip hands it."""

    def __init__(self, masked_vae: bool) -> None:
        import types

        import torch

        self.family = types.SimpleNamespace(masked_vae=masked_vae)
        self.device = torch.device("cpu")
        self.batches: list[int] = []

    def encode_features(self, clips):
        import torch

        self.batches.append(len(clips))
        return [torch.zeros((len(c) + 3) // 4, 2) for c in clips]

    def decode(self, batch, lengths):
        frames = max(lengths)
        return None, np.zeros((len(lengths), frames, 22, 3))


def test_a_salad_vae_round_trips_one_clip_at_a_time():
    """SALAD's VAE has no mask: padding of a batch would reach a shorter clip's last frames."""
    round_trip = _bench_vae().round_trip
    clips = [np.zeros((n, 263), np.float32) for n in (8, 12, 16)]
    salad, bundled = _RecordingModel(masked_vae=False), _RecordingModel(masked_vae=True)
    assert [len(j) for j in round_trip(salad, clips)] == [8, 12, 16]
    assert salad.batches == [1, 1, 1]
    round_trip(bundled, clips)
    assert bundled.batches == [3]
    from esd.models.bundled.family import BUNDLED
    from esd.models.salad.family import SALAD

    assert BUNDLED.masked_vae and not SALAD.masked_vae
