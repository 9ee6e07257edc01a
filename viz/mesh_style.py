"""Geometry and colours of the skeleton meshes (static GLB/OBJ/PLY and the animated GLB)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MeshStyle:
    """Geometry and colours of :func:`viz.export.pose_mesh` / :func:`viz.export.trail_mesh`
    and of the animated GLB (:mod:`viz.animated_glb`)."""

    bone_radius: float = 0.02  # cylinder radius (m)
    joint_radius: float = 0.03  # sphere radius (m)
    cylinder_sections: int = 8  # sides per cylinder (18 vertices each)
    sphere_subdivisions: int = 1  # icosphere level (1: 42 vertices each)
    bone_color: tuple[int, int, int] = (70, 130, 180)  # RGB of bones (animated GLB: the spine)
    joint_color: tuple[int, int, int] = (220, 90, 60)  # RGB of joints
    trail_fade: float = 0.75  # trail: first pose blended this much towards white (0: no fade)
    left_shade: float = 0.45  # animated GLB: left limbs' bones, bone_color this much to black
    right_shade: float = 0.5  # animated GLB: right limbs' bones, bone_color this much to white
