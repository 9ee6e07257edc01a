"""Locomotion and whole-body actions: walk, run, jump, spin, dance, climb (one module each).

Every generator here plans the legs in the WORLD and solves them by inverse kinematics
(``leg_plan``): it lays out where each ball of the foot is on every frame (planted feet stay
exactly where they were put down), where the pelvis is and how it is turned, and ``solve_legs``
finds the hip, knee and ankle rotations that reach those targets. The physics
(``esd.corpus.physics.ground``) then rebuilds the same root trajectory from the planted feet, so a
planted foot never slides, even with both feet down while the body turns or sways; flights follow
the ballistic arc the plan also uses. The pelvis height of a gait is the planned height capped by
what the legs can reach (``reach_height``), so the body dips in the double support of a walk by
itself. ``gait`` holds the footsteps and rhythm shared by walk, run and dance; ``curve_tools``
the small curve helpers.

The concept modules register their generators when imported (``esd.corpus.actions`` imports
them all).
"""
