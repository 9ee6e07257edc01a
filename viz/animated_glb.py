"""An animated GLB of a motion: a node-animated joint hierarchy carrying the skeleton's mesh.

Plays in Blender (File > Import > glTF 2.0: objects parented like the skeleton, one action) and
in any glTF viewer (``gr.Model3D`` loops it). Contents (indices are the document's)::

    scene 0         nodes [0]
    node 0          "motion": identity root, child: the pelvis joint node
    nodes 1..22     joint j (``JOINT_NAMES[j]``): a sphere, children = its child joints' nodes
                    and its bones' nodes; animated translation + rotation
    nodes 23..43    "bone_<child joint>": a unit tube along +Y under the parent joint's node;
                    animated rotation + scale (see :mod:`viz.skeleton_tracks`)
    meshes          0 joint sphere, 1..3 bone tube: spine / left limbs / right limbs
    materials       joint colour, bone colour and its darker (left) / lighter (right) shades
    animation 0     "motion": one sampler + channel per animated node property, LINEAR,
                    times ``k / fps`` s for the T frames (shared input accessor)

Every node also carries frame 0's TRS, so a viewer without animation shows the first pose.
Coordinates are the motion's: metres, y up (glTF's convention), +Z forward.
"""

from __future__ import annotations

import numpy as np

from esd.motion.skeleton import FPS, JOINT_NAMES, NUM_JOINTS, PARENTS, bone_children
from viz.figure_style import side_shades
from viz.gltf import ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER, GlbBuilder
from viz.mesh_style import MeshStyle
from viz.motion_axes import SIDES, as_joints, joint_side
from viz.skeleton_tracks import BONE_CHILDREN, skeleton_tracks

MOTION_NODE = 0  # the identity root node
JOINT_NODE0 = 1  # node of joint j: JOINT_NODE0 + j
BONE_NODE0 = JOINT_NODE0 + NUM_JOINTS  # node of the k-th bone of BONE_CHILDREN: BONE_NODE0 + k
SPHERE_MESH = 0  # joint mesh index; bone meshes follow, one per side in SIDES order
ROUGHNESS = 0.7  # material roughness (metallic 0): a matte skeleton


def animated_glb_bytes(
    joints: np.ndarray, fps: float = FPS, style: MeshStyle | None = None
) -> bytes:
    """The GLB file of ``joints (T, 22, 3)`` (metres, y up) animated at ``fps``."""
    joints = as_joints(joints)
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    style = style or MeshStyle()
    builder = GlbBuilder()
    doc = builder.document
    doc["scene"] = 0
    doc["scenes"] = [{"name": "motion", "nodes": [MOTION_NODE]}]
    doc["materials"] = _materials(style)
    doc["meshes"] = _meshes(builder, style)
    tracks = skeleton_tracks(joints)
    doc["nodes"] = _nodes(tracks)
    times = (np.arange(len(joints)) / fps).astype(np.float32)  # (T,) seconds
    time_accessor = builder.add_accessor(times, "SCALAR", bounds=True)
    samplers: list[dict] = []
    channels: list[dict] = []
    animated = [
        (JOINT_NODE0, "translation", "VEC3", tracks.joint_translation),
        (JOINT_NODE0, "rotation", "VEC4", tracks.joint_rotation),
        (BONE_NODE0, "rotation", "VEC4", tracks.bone_rotation),
        (BONE_NODE0, "scale", "VEC3", tracks.bone_scale),
    ]
    for first_node, path, kind, values in animated:
        for i in range(values.shape[1]):
            output = builder.add_accessor(values[:, i].astype(np.float32), kind)
            samplers.append({"input": time_accessor, "output": output, "interpolation": "LINEAR"})
            channels.append({"sampler": len(samplers) - 1,
                             "target": {"node": first_node + i, "path": path}})  # fmt: skip
    doc["animations"] = [{"name": "motion", "samplers": samplers, "channels": channels}]
    return builder.to_bytes()


def _nodes(tracks) -> list[dict]:
    """The node list (see the module docstring), posed at frame 0."""
    children = bone_children()
    nodes: list[dict] = [{"name": "motion", "children": [JOINT_NODE0 + PARENTS.index(-1)]}]
    for j in range(NUM_JOINTS):
        bones = [BONE_NODE0 + k for k, child in enumerate(BONE_CHILDREN) if PARENTS[child] == j]
        node = {
            "name": JOINT_NAMES[j],
            "mesh": SPHERE_MESH,
            "translation": _floats(tracks.joint_translation[0, j]),
            "rotation": _floats(tracks.joint_rotation[0, j]),
        }
        if children[j] or bones:
            node["children"] = [JOINT_NODE0 + c for c in children[j]] + bones
        nodes.append(node)
    for k, child in enumerate(BONE_CHILDREN):
        nodes.append(
            {
                "name": f"bone_{JOINT_NAMES[child]}",
                "mesh": SPHERE_MESH + 1 + SIDES.index(joint_side(child)),
                "rotation": _floats(tracks.bone_rotation[0, k]),
                "scale": _floats(tracks.bone_scale[0, k]),
            }
        )
    return nodes


def _floats(values: np.ndarray) -> list[float]:
    """JSON floats with float32 precision (what the animation accessors hold)."""
    return [float(v) for v in values.astype(np.float32)]


def _materials(style: MeshStyle) -> list[dict]:
    """Joint material, then one bone material per side (SIDES order)."""
    shades = side_shades(style.bone_color, style.left_shade, style.right_shade)
    named = [("joint", list(map(float, style.joint_color)))]
    named += [(f"bone_{side}", shades[side]) for side in SIDES]
    return [
        {
            "name": name,
            "pbrMetallicRoughness": {
                "baseColorFactor": [*_linear(rgb), 1.0],
                "metallicFactor": 0.0,
                "roughnessFactor": ROUGHNESS,
            },
        }
        for name, rgb in named
    ]


def _linear(rgb: list[float]) -> list[float]:
    """sRGB 0..255 -> linear 0..1 (glTF's baseColorFactor is linear)."""
    c = np.clip(np.asarray(rgb, dtype=np.float64) / 255.0, 0.0, 1.0)
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return [round(float(v), 5) for v in lin]


def _meshes(builder: GlbBuilder, style: MeshStyle) -> list[dict]:
    """The joint sphere (material 0) and the bone tube once per side (materials 1..3)."""
    rings = 4 + 2 * style.sphere_subdivisions
    sphere_v, sphere_i = uv_sphere(rings, 2 * rings)
    tube_v, tube_n, tube_i = unit_tube(style.cylinder_sections)
    sphere = _primitive(builder, sphere_v * style.joint_radius, sphere_v, sphere_i)
    scale = np.array([style.bone_radius, 1.0, style.bone_radius])
    tube = _primitive(builder, tube_v * scale, tube_n, tube_i)
    meshes = [{"name": "joint", "primitives": [{**sphere, "material": 0}]}]
    meshes += [
        {"name": f"bone_{side}", "primitives": [{**tube, "material": 1 + i}]}
        for i, side in enumerate(SIDES)
    ]
    return meshes


def _primitive(builder: GlbBuilder, positions, normals, indices) -> dict:
    """A triangle primitive's accessors: POSITION (with bounds), NORMAL, uint16 indices."""
    return {
        "attributes": {
            "POSITION": builder.add_accessor(
                positions.astype(np.float32), "VEC3", ARRAY_BUFFER, bounds=True
            ),
            "NORMAL": builder.add_accessor(normals.astype(np.float32), "VEC3", ARRAY_BUFFER),
        },
        "indices": builder.add_accessor(
            indices.reshape(-1).astype(np.uint16), "SCALAR", ELEMENT_ARRAY_BUFFER
        ),
        "mode": 4,  # triangles
    }


def uv_sphere(rings: int, segments: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit sphere: vertices ``(2 + (rings - 1) * segments, 3)`` (= their normals) and
    counter-clockwise (outward) triangles ``(2 * segments * (rings - 1), 3)``; one vertex per
    pole, so no triangle is degenerate."""
    phi = np.pi * np.arange(1, rings) / rings  # (rings - 1,) polar angles from +Y
    theta = 2 * np.pi * np.arange(segments) / segments  # (segments,)
    ring = np.stack(
        [
            np.sin(phi)[:, None] * np.cos(theta),
            np.broadcast_to(np.cos(phi)[:, None], (rings - 1, segments)),
            np.sin(phi)[:, None] * np.sin(theta),
        ],
        axis=-1,
    ).reshape(-1, 3)  # (rings - 1) * segments vertices, ring by ring from the top
    vertices = np.concatenate([[[0.0, 1.0, 0.0]], ring, [[0.0, -1.0, 0.0]]])
    south = len(vertices) - 1
    j = np.arange(segments)
    nxt = (j + 1) % segments
    faces = [np.stack([np.zeros_like(j), 1 + nxt, 1 + j], axis=1)]  # top fan
    for r in range(rings - 2):  # quads between ring r (upper) and r + 1 (lower)
        up, lo = 1 + r * segments, 1 + (r + 1) * segments
        faces += [np.stack([lo + j, up + j, lo + nxt], axis=1),
                  np.stack([lo + nxt, up + j, up + nxt], axis=1)]  # fmt: skip
    last = 1 + (rings - 2) * segments
    faces.append(np.stack([np.full_like(j, south), last + j, last + nxt], axis=1))  # bottom fan
    return vertices, np.concatenate(faces)


def unit_tube(sections: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Open tube of radius 1 from y = 0 to y = 1: vertices ``(2 * sections, 3)`` (bottom ring,
    then top ring), radial normals, outward triangles ``(2 * sections, 3)``. Its open ends sit
    inside the joint spheres."""
    theta = 2 * np.pi * np.arange(sections) / sections
    circle = np.stack([np.cos(theta), np.zeros(sections), np.sin(theta)], axis=1)  # (n, 3)
    vertices = np.concatenate([circle, circle + np.array([0.0, 1.0, 0.0])])
    a = np.arange(sections)
    b = (a + 1) % sections
    faces = np.concatenate([np.stack([a, a + sections, b], 1),
                            np.stack([b, a + sections, b + sections], 1)])  # fmt: skip
    return vertices, np.concatenate([circle, circle]), faces
