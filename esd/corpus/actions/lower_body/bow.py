"""Bowing, slightly or deeply.

Times in seconds at normal tempo (each randomised by ``jitter``; ``TEMPO`` scales them, and
when slow tempo times many repetitions would pass 8.5 s the per-repetition timing shrinks):

* bow, per rep: bend forward at the hips, head following (0.7) -> hold (0.4) -> up (0.7);
  slight ~30 deg, deep ~70-90 deg; legs straight, hands at the sides or one across the waist.
"""

from __future__ import annotations

import numpy as np

from esd.corpus import rig
from esd.corpus.actions.base import (
    DEG,
    TEMPO,
    ActionRequest,
    ActionResult,
    jitter,
    planted_feet,
    register,
    seconds_to_frames,
)
from esd.corpus.actions.lower_body.arms import arm, held_angles
from esd.corpus.actions.lower_body.legs import SIDES, grounded_result, symmetric_legs
from esd.corpus.actions.lower_body.timing import fit_tempo, keyed

BOW_PITCH = {"slight": 35, "deep": 90}  # trunk pitch at the bottom (deg)
BOW_PHASES = (0.7, 0.4, 0.7, 0.2)  # down, hold, up, pause


@register("bow")
def bow(request: ActionRequest, rng: np.random.Generator) -> ActionResult:
    tempo = fit_tempo(TEMPO[request.speed], request.reps, sum(BOW_PHASES), 0.4)
    start = jitter(rng, 0.2 * tempo)
    keys, t = [(0.0, 0.0), (start, 0.0)], start
    for _ in range(request.reps):
        down = t + jitter(rng, BOW_PHASES[0] * tempo)
        hold = down + jitter(rng, BOW_PHASES[1] * tempo, 0.4)
        up = hold + jitter(rng, BOW_PHASES[2] * tempo)
        keys += [(down, 1.0), (hold, 1.0), (up, 0.0)]
        t = up + jitter(rng, BOW_PHASES[3] * tempo, 0.4)
    end = up + jitter(rng, 0.2 * tempo)
    frames = seconds_to_frames(end)
    pitch = jitter(rng, BOW_PITCH[request.variant], 0.12) * DEG * keyed(frames, keys)
    pose = rig.Pose.rest(frames)
    lean = 0.06 * pitch  # legs lean back a little: the hips go back, the feet stay flat
    symmetric_legs(pose, 0.72 * pitch, lean, -lean, np.zeros(frames))
    rig.spine_flex(pose, 0.28 * pitch)
    rig.neck_flex(pose, jitter(rng, 0.25, 0.3) * pitch)  # the head follows
    if rng.uniform() < 0.4:  # one forearm across the waist, the other at the side
        across = keyed(frames, [(0.0, 0.0), (keys[2][0], 1.0), (keys[-2][0], 1.0), (end, 0.0)])
        arm(pose, str(rng.choice(SIDES)), *held_angles("across", across))
    return grounded_result(request, pose, planted_feet(frames, True, True))
