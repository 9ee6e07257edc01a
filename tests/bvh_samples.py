"""Tiny BVH files written in the tests: CMU (cgspeed) and Mixamo rigs, and a generic builder.

``Node`` trees render to BVH text with ``bvh_text``; ``motion_rows`` gives every channel a value
per frame from a dict of (joint, channel) -> per-frame values (0 elsewhere).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from esd.motion.bvh.rest import UNITS
from tests.conftest import SHARED_ABSENT, SHARED_ROOT, shared_required

CMU_ROOT = ("Xposition", "Yposition", "Zposition", "Zrotation", "Yrotation", "Xrotation")
CMU_JOINT = ("Zrotation", "Yrotation", "Xrotation")
MIXAMO_ROOT = ("Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation")
MIXAMO_JOINT = ("Zrotation", "Xrotation", "Yrotation")
CMU_UNITS = 1 / UNITS["cmu"]  # CMU units per metre
FRAMES = 30  # frames of the sample motions (30 fps)


@dataclass
class Node:
    name: str
    offset: tuple[float, float, float]
    channels: tuple[str, ...]
    children: list[Node] = field(default_factory=list)
    end: tuple[float, float, float] | None = None

    def walk(self) -> list[Node]:
        return [self] + [n for c in self.children for n in c.walk()]


def _render(node: Node, depth: int, kind: str) -> list[str]:
    pad = "  " * depth
    lines = [
        f"{pad}{kind} {node.name}",
        f"{pad}{{",
        f"{pad}  OFFSET {' '.join(map(str, node.offset))}",
    ]
    lines.append(f"{pad}  CHANNELS {len(node.channels)} {' '.join(node.channels)}")
    for child in node.children:
        lines += _render(child, depth + 1, "JOINT")
    if node.end is not None:
        lines += [
            f"{pad}  End Site",
            f"{pad}  {{",
            f"{pad}    OFFSET {' '.join(map(str, node.end))}",
            f"{pad}  }}",
        ]
    lines.append(f"{pad}}}")
    return lines


def motion_rows(root: Node, frames: int, values: dict[tuple[str, str], np.ndarray]) -> np.ndarray:
    """(frames, C) channel table; ``values[(joint, channel)]`` is a (frames,) array."""
    columns = [values.get((n.name, c), np.zeros(frames)) for n in root.walk() for c in n.channels]
    return np.stack(
        [np.broadcast_to(np.asarray(v, dtype=float), (frames,)) for v in columns], axis=1
    )


def bvh_text(root: Node, motion: np.ndarray, frame_time: float = 1 / 30) -> str:
    lines = ["HIERARCHY", *_render(root, 0, "ROOT"), "MOTION", f"Frames: {len(motion)}"]
    lines.append(f"Frame Time: {frame_time:.7f}")
    lines += [" ".join(f"{v:.6f}" for v in row) for row in motion]
    return "\n".join(lines) + "\n"


def _limb(names: list[str], offsets: list[tuple], channels: tuple, end: tuple) -> Node:
    """A chain of joints, the first being the top."""
    nodes = [Node(n, o, channels) for n, o in zip(names, offsets)]
    for parent, child in itertools.pairwise(nodes):
        parent.children.append(child)
    nodes[-1].end = end
    return nodes[0]


def cmu_skeleton() -> Node:
    """The CMU cgspeed hierarchy (T-pose, legs splayed, facing +Z, left at +X; CMU units)."""
    j = CMU_JOINT

    def side(s: str, sign: float) -> tuple[Node, Node]:
        leg = Node(f"{s[0]}HipJoint", (0, 0, 0), j, [
            _limb([f"{s}UpLeg", f"{s}Leg", f"{s}Foot", f"{s}ToeBase"],
                  [(sign * 1.363, -1.795, 0.839), (sign * 2.448, -6.726, 0),
                   (sign * 2.562, -7.040, 0), (sign * 0.158, -0.433, 2.323)], j, (0, 0, 0.8))
        ])  # fmt: skip
        arm = Node(f"{s}Shoulder", (0, 0, 0), j, [
            _limb([f"{s}Arm", f"{s}ForeArm", f"{s}Hand"],
                  [(sign * 3.362, 1.201, -0.311), (sign * 4.983, 0, 0), (sign * 3.484, 0, 0)],
                  j, (sign * 0.7, 0, 0))
        ])  # fmt: skip
        return leg, arm

    (l_leg, l_arm), (r_leg, r_arm) = side("Left", 1.0), side("Right", -1.0)
    neck = Node("Neck", (0, 0, 0), j, [
        _limb(["Neck1", "Head"], [(-0.054, 1.746, 0.172), (0.104, 1.761, -0.124)], j, (0, 1.8, 0))
    ])  # fmt: skip
    spine1 = Node("Spine1", (0.057, 2.049, -0.043), j, [neck, l_arm, r_arm])
    lower = Node("LowerBack", (0, 0, 0), j, [Node("Spine", (0.028, 2.036, -0.193), j, [spine1])])
    return Node("Hips", (0, 0, 0), CMU_ROOT, [l_leg, r_leg, lower])


def mixamo_skeleton(scale: float = 1.0) -> Node:
    """A Mixamo hierarchy ("mixamorig:" names; T-pose, facing +Z, left at +X; cm x scale)."""
    j = MIXAMO_JOINT

    def off(x: float, y: float, z: float) -> tuple[float, float, float]:
        return (x * scale, y * scale, z * scale)

    def side(s: str, sign: float) -> tuple[Node, Node]:
        leg = _limb([f"mixamorig:{s}{n}" for n in ("UpLeg", "Leg", "Foot", "ToeBase")],
                    [off(sign * 9, -6.5, -0.5), off(0, -43, 0), off(0, -42, 0), off(0, -8, 13)],
                    j, off(0, 0, 7))  # fmt: skip
        arm = Node(f"mixamorig:{s}Shoulder", off(sign * 6, 11, -1), j, [
            _limb([f"mixamorig:{s}{n}" for n in ("Arm", "ForeArm", "Hand")],
                  [off(sign * 11, 0, 0), off(sign * 27, 0, 0), off(sign * 25, 0, 0)],
                  j, off(sign * 9, 0, 0))
        ])  # fmt: skip
        return leg, arm

    (l_leg, l_arm), (r_leg, r_arm) = side("Left", 1.0), side("Right", -1.0)
    head = Node("mixamorig:Head", off(0, 10, 2), j, end=off(0, 18, 0))
    neck = Node("mixamorig:Neck", off(0, 15, 1), j, [head])
    spine2 = Node("mixamorig:Spine2", off(0, 13, -1), j, [neck, l_arm, r_arm])
    spine1 = Node("mixamorig:Spine1", off(0, 12, 0), j, [spine2])
    spine = Node("mixamorig:Spine", off(0, 10, 1), j, [spine1])
    return Node("mixamorig:Hips", off(0, 100, 0), MIXAMO_ROOT, [l_leg, r_leg, spine])


def mirror_bvh(root: Node, motion: np.ndarray) -> tuple[Node, np.ndarray]:
    """The mirror image x -> -x of a skeleton and its motion (names unchanged).

    M R M with M = diag(-1, 1, 1): rotations about X keep their angle, about Y and Z negate.
    """

    def flip(node: Node) -> Node:
        end = None if node.end is None else (-node.end[0], node.end[1], node.end[2])
        offset = (-node.offset[0], node.offset[1], node.offset[2])
        return Node(node.name, offset, node.channels, [flip(c) for c in node.children], end)

    signs = [-1.0 if c in ("Xposition", "Yrotation", "Zrotation") else 1.0
             for n in root.walk() for c in n.channels]  # fmt: skip
    return flip(root), motion * np.array(signs)


BANDAI = SHARED_ROOT / "fixtures" / "mocap" / "bandai"


@pytest.fixture(scope="module")
def bandai_dir() -> Path:
    """The Bandai-Namco BVH pack (CC BY-NC 4.0: tests only, nothing of it is kept)."""
    if not (BANDAI / "labels.csv").is_file():
        reason = f"Bandai-Namco BVH pack not found at {BANDAI} {SHARED_ABSENT}"
        if shared_required():
            pytest.fail(reason + "; in CI (or with ESD_REQUIRE_SHARED=1) this is an error")
        pytest.skip(reason)
    return BANDAI


def sample_motion(root: Node, unit_per_m: float) -> np.ndarray:
    """T-pose on frame 0, then walking forward (+Z, 1.2 m/s) while the left arm rises 80°."""
    t = np.arange(FRAMES)
    names = {n.name.rsplit(":", 1)[-1]: n.name for n in root.walk()}
    values = {
        (root.name, "Zposition"): t / 30 * 1.2 * unit_per_m,
        (root.name, "Yposition"): np.full(FRAMES, 0.9 * unit_per_m if "mixamo" in root.name else 0),
        (names["LeftArm"], "Zrotation"): np.linspace(0, 80, FRAMES),
        (names["RightLeg"], "Xrotation"): 30 * np.sin(t / 5) ** 2,
    }
    return motion_rows(root, FRAMES, values)
