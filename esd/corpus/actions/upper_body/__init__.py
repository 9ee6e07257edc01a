"""Upper-body actions: punch, wave, raise_arms, clap, throw, push, arm_circles, swing, swim.

The feet stay planted (the legs only bend symmetrically: a boxing crouch, a golfer's hip hinge,
a lean from the ankles) except in the overhand throw, which strides forward with the foot
opposite the throwing arm while that foot is lifted and brings the rear foot up beside it
afterwards. Every clip starts and ends at rest with heading 0. Fast moves have minimum durations
so joint accelerations stay below the contract's 0.25 m/frame^2.

Arm postures are named angles in degrees, keyed over time and eased with minimum jerk
(``postures``); timings are randomised and fitted to MAX_SECONDS (``timing``); two-handed grips
and palm contacts are solved with a small damped Gauss-Newton inverse kinematics that also keeps
the elbows out of the torso (``arm_ik``). The concept modules register their generators when
imported (``esd.corpus.actions`` imports them all).
"""
