"""Procedural synthetic motion corpus in the HumanML3D layout (``python -m esd.corpus``).

Modules: ``catalog`` (each concept's variants and sides), ``rig`` (pose -> joints by forward
kinematics on the canonical skeleton), ``curves`` (min-jerk keyframes, pulses, time warps),
``physics`` (feet planted, floor, ballistic flight), ``actions/`` (one generator per concept, by
family: ``kick``, ``locomotion/``, ``lower_body/``, ``upper_body/``), ``compose`` (idle,
transitions, two-concept clips), ``captions/`` (templates, phrases, lexicon, the caption
generator, held-out phrasings, POS tokens), ``stats`` (plausibility), ``writer`` (the folder,
splits, statistics, manifest).
"""
