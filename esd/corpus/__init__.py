"""Procedural synthetic motion corpus in the HumanML3D layout (``python -m esd.corpus``).

Modules: ``catalog`` (each concept's variants and sides), ``rig`` (pose -> joints by forward
kinematics on the canonical skeleton), ``physics`` (feet planted, floor, ballistic flight),
``actions`` (one generator per concept), ``compose`` (idle, transitions, two-concept clips),
``captions`` (HumanML3D-style captions, held-out phrasings, POS tokens), ``stats`` (plausibility),
``writer`` (the folder, splits, statistics, manifest).
"""
