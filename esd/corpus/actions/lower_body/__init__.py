"""Lower-body and posture actions: lunge, squat, sit_down, stand_up, kneel, bow, stretch, balance
and pick_up (one module per concept; sit_down and stand_up share ``sit``).

Legs are solved rather than animated joint by joint (``legs``): an action says, in a floor frame,
where the pelvis is and where the ball of each foot rests, and two-bone inverse kinematics finds
the hip, knee and ankle rotations, so planted feet keep exactly their relative position.
``timing`` fits repetitions into the clip length, ``arms`` holds the arm postures and ``stance``
the stepping stances of the lunges and the one-knee kneel. The concept modules register their
generators when imported (``esd.corpus.actions`` imports them all).
"""
