"""Manners of walking (``catalog.WALK_STYLES``): how each changes the plain walk.

Calibrated against the per-style statistics of real studio walks (``benchmarks/bench_mocap.py``
on the calibration half of the Bandai-Namco takes): a plain walk ~1.2 m/s at ~1.85 steps/s with
the wrists swinging ~0.45 m fore and aft and elbows bent ~15 deg; energetic walks ~1.45 m/s,
~2.1 steps/s with elbows bent 60-95 deg (arms pumping) and a springy pelvis; tired walks a
little slower with the trunk and head lowered; graceful walks narrow (feet near one line) with
more hip roll; bouncy walks with big arm swings and a large vertical bob; timid walks slow and
short-stepped (~0.5 m/s), hands held in front, head down.
"""

from __future__ import annotations

from dataclasses import dataclass

from esd.corpus.catalog import PLAIN


@dataclass(frozen=True)
class WalkManner:
    """Changes of one walking style; factors multiply the plain walk's values."""

    cadence: float = 1.0  # step frequency
    step: float = 1.0  # step length
    arm_swing: float = 1.0  # arm swing per metre of stride
    elbow: tuple[float, float] = (8.0, 24.0)  # elbow bend (deg), drawn once per clip
    bob: float = 0.025  # pelvis drop in double support (m), on top of what the legs force
    lift: float = 1.0  # foot lift in the swing
    lean: float = 2.0  # trunk lean forward (deg)
    nod: float = 0.0  # head bowed (deg)
    width: float = 1.0  # stance width (graceful: the feet land close to one line)
    roll: float = 1.0  # pelvis roll toward the supporting foot
    shrug: float = 0.0  # shoulders drawn up (deg; timid)


WALK_MANNERS: dict[str, WalkManner] = {
    PLAIN: WalkManner(),
    "energetic": WalkManner(
        cadence=1.14, step=1.1, arm_swing=1.6, elbow=(60.0, 95.0), bob=0.05, lift=1.15, lean=4.0
    ),
    "tired": WalkManner(
        cadence=0.9, step=0.9, arm_swing=0.8, elbow=(5.0, 18.0), lift=0.8, lean=11.0, nod=14.0
    ),
    "graceful": WalkManner(
        cadence=0.95, arm_swing=0.8, elbow=(15.0, 35.0), width=0.25, roll=2.5, bob=0.02
    ),
    "bouncy": WalkManner(
        cadence=1.05, step=1.05, arm_swing=1.5, elbow=(5.0, 20.0), bob=0.06, lift=1.25
    ),
    "timid": WalkManner(
        cadence=0.75,
        step=0.6,
        arm_swing=0.2,
        elbow=(85.0, 115.0),
        bob=0.01,
        lift=0.7,
        lean=8.0,
        nod=16.0,
        shrug=8.0,
    ),
}
