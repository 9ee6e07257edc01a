"""Files from skeleton motions: NPY, BVH, static meshes (GLB/OBJ/PLY), an animated GLB,
standalone HTML.

Every writer validates its input (ValueError with the expected shape), creates the parent
folder, writes to a temporary file in the same folder and renames it into place
(``os.replace``: readers never see a half-written file), and returns the path(s) written.

Meshes: trimesh has no animation, so a motion becomes either one pose (a low-poly cylinder per
bone, a sphere per joint) or a "trail" of every k-th pose in one mesh, coloured from light
(start) to full colour (end). Coordinates are the motion's: metres, y up (glTF's convention).
No vertex normals are computed or stored (viewers shade the low-poly meshes flat).

Animated GLB (:func:`write_animated_glb`, built by :mod:`viz.animated_glb` without trimesh): a
node-animated joint hierarchy carrying spheres and tubes, TRS keyframes at the motion's fps;
plays in Blender and any glTF viewer (``gr.Model3D`` loops it).
"""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from esd.common.files import atomic_write, safe_filename
from esd.motion.skeleton import FEATURE_DIM, FPS, NUM_JOINTS, PARENTS
from viz.animated_glb import animated_glb_bytes
from viz.bvh import BvhConfig, bvh_text, read_bvh, swing_rotation
from viz.mesh_style import MeshStyle
from viz.motion_axes import as_joints
from viz.skeleton import LINK_CAMERAS_JS, PLOTLY_CONFIG

if TYPE_CHECKING:
    import trimesh

__all__ = [
    "MeshStyle",
    "atomic_write",
    "pose_mesh",
    "read_bvh",
    "safe_filename",
    "trail_mesh",
    "write_animated_glb",
    "write_bvh",
    "write_html",
    "write_mesh",
    "write_npy",
]

MESH_FORMATS = (".glb", ".obj", ".ply")  # suffixes write_mesh understands
DEFAULT_TRAIL_EVERY = FPS  # one pose per second when write_mesh is given neither option


# --- safe files --------------------------------------------------------------------------------


# --- NPY, BVH, HTML ----------------------------------------------------------------------------


def write_npy(
    path: str | Path, joints: np.ndarray, features: np.ndarray | None = None
) -> list[Path]:
    """Write ``{stem}_joints.npy`` (T, 22, 3) float32 and, if given, ``{stem}_features.npy``.

    ``stem`` is ``path`` without a ``.npy`` suffix (``out/kick`` and ``out/kick.npy`` both give
    ``out/kick_joints.npy``). ``features``: ``(N, 263)`` HumanML3D vectors of the same clip
    (N is T or T - 1 depending on the producer; not enforced). Returns the paths written.
    """
    joints = as_joints(joints)
    path = Path(path)
    stem = path.with_suffix("") if path.suffix == ".npy" else path
    written = [atomic_write(f"{stem}_joints.npy", _npy_bytes(joints))]
    if features is not None:
        feats = np.asarray(features)
        if feats.ndim != 2 or feats.shape[1] != FEATURE_DIM or not np.isfinite(feats).all():
            raise ValueError(
                f"features must be finite with shape (N, {FEATURE_DIM}), got {feats.shape}"
            )
        written.append(atomic_write(f"{stem}_features.npy", _npy_bytes(feats.astype(np.float32))))
    return written


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def write_bvh(
    path: str | Path, joints: np.ndarray, fps: float = FPS, config: BvhConfig | None = None
) -> Path:
    """Write ``joints (T, 22, 3)`` as BVH (centimetres by default; see :mod:`viz.bvh`)."""
    return atomic_write(path, bvh_text(joints, fps, config))


def write_html(fig: go.Figure, path: str | Path) -> Path:
    """Standalone HTML of a figure for offline viewing (plotly.js embedded, no CDN; ~5 MB);
    the scenes' cameras are linked as in the app (dragging one turns them all)."""
    link = LINK_CAMERAS_JS + "esdLinkCameras(document.getElementById('{plot_id}'));"
    html = fig.to_html(
        include_plotlyjs=True,
        full_html=True,
        auto_play=False,
        config=PLOTLY_CONFIG,
        post_script=link,
    )
    return atomic_write(path, html)


def write_animated_glb(
    path: str | Path, joints: np.ndarray, fps: float = FPS, style: MeshStyle | None = None
) -> Path:
    """Write ``joints`` (a motion ``(T, 22, 3)`` or one pose ``(22, 3)``, metres, y up) as an
    animated GLB at ``fps`` (see :mod:`viz.animated_glb`; ~1.4 KB per frame). The suffix must
    be ``.glb``."""
    path = Path(path)
    if path.suffix.lower() != ".glb":
        raise ValueError(
            f"an animated motion is written as .glb, got {path.suffix or 'no suffix'!r}"
        )
    arr = np.asarray(joints)
    return atomic_write(path, animated_glb_bytes(arr[None] if arr.ndim == 2 else arr, fps, style))


# --- meshes ------------------------------------------------------------------------------------


def pose_mesh(joints_frame: np.ndarray, style: MeshStyle | None = None) -> trimesh.Trimesh:
    """One pose ``(22, 3)`` as a mesh: a cylinder per bone and a sphere per joint, coloured."""
    pose = _as_pose(joints_frame)
    return _pose_parts(pose, style or MeshStyle(), fade=0.0)


def trail_mesh(
    joints: np.ndarray,
    every: int,
    style: MeshStyle | None = None,
    shift: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> trimesh.Trimesh:
    """Every ``every``-th pose of ``joints (T, 22, 3)`` (and the last one) in one mesh.

    Pose ``i`` of ``n`` is displaced by ``i * shift`` metres (spread an in-place motion out)
    and faded towards white by ``trail_fade * (1 - i / (n - 1))``: light start, full-colour end.
    """
    joints = as_joints(joints)
    if every < 1:
        raise ValueError(f"every must be a positive number of frames, got {every}")
    style = style or MeshStyle()
    frames = sorted({*range(0, len(joints), every), len(joints) - 1})
    offset = np.asarray(shift, dtype=np.float64)
    parts = []
    for i, frame in enumerate(frames):
        fade = style.trail_fade * (1.0 - i / max(1, len(frames) - 1))
        parts.append(_pose_parts(joints[frame] + i * offset, style, fade))
    return _concatenate(parts)


def write_mesh(
    path: str | Path,
    joints: np.ndarray,
    frame: int | None = None,
    trail_every: int | None = None,
    style: MeshStyle | None = None,
) -> Path:
    """Write a pose or a trail as ``.glb``, ``.obj`` or ``.ply`` (chosen by the suffix).

    ``joints``: one pose ``(22, 3)`` or a motion ``(T, 22, 3)``. For a motion, ``frame`` picks
    one pose and ``trail_every`` a trail; with neither, a trail of one pose per second
    (``DEFAULT_TRAIL_EVERY``); giving both is an error.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in MESH_FORMATS:
        raise ValueError(f"mesh format {suffix!r} unknown; use one of {', '.join(MESH_FORMATS)}")
    if frame is not None and trail_every is not None:
        raise ValueError("give either frame (one pose) or trail_every (a trail), not both")
    arr = np.asarray(joints)
    motion = as_joints(arr[None] if arr.ndim == 2 else arr)
    if frame is not None:
        if not -len(motion) <= frame < len(motion):
            raise ValueError(f"frame {frame} out of range for a motion of {len(motion)} frames")
        mesh = pose_mesh(motion[frame], style)
    else:
        mesh = trail_mesh(motion, trail_every or DEFAULT_TRAIL_EVERY, style)
    if suffix == ".obj":
        data = _trimesh().exchange.obj.export_obj(mesh, include_normals=False)
    else:
        data = mesh.export(file_type=suffix[1:])
    return atomic_write(path, data)


def _as_pose(joints_frame: np.ndarray) -> np.ndarray:
    """Validate one pose ``(22, 3)`` and return it as float64."""
    arr = np.asarray(joints_frame)
    if arr.shape != (NUM_JOINTS, 3):
        raise ValueError(
            f"a pose must have shape ({NUM_JOINTS}, 3), got {arr.shape}; pick a frame joints[t]"
        )
    return as_joints(arr[None])[0].astype(np.float64)


def _pose_parts(pose: np.ndarray, style: MeshStyle, fade: float) -> trimesh.Trimesh:
    """Bones and joints of one pose ``(22, 3)`` as one coloured mesh (vectorised transforms)."""
    cylinder = _template("cylinder", style.cylinder_sections)
    sphere = _template("sphere", style.sphere_subdivisions)
    bones_v = _bone_vertices(pose, cylinder.vertices, style.bone_radius)  # (21, V, 3)
    joints_v = sphere.vertices[None] * style.joint_radius + pose[:, None]  # (22, V', 3)
    n_bone_v = bones_v.shape[0] * bones_v.shape[1]
    faces = np.concatenate(
        [
            _instanced_faces(cylinder.faces, cylinder.vertices.shape[0], bones_v.shape[0], 0),
            _instanced_faces(sphere.faces, sphere.vertices.shape[0], len(pose), n_bone_v),
        ]
    )
    colors = np.concatenate(
        [
            np.tile(_faded(style.bone_color, fade), (n_bone_v, 1)),
            np.tile(_faded(style.joint_color, fade), (joints_v.shape[0] * joints_v.shape[1], 1)),
        ]
    )
    vertices = np.concatenate([bones_v.reshape(-1, 3), joints_v.reshape(-1, 3)])  # (N, 3)
    return _trimesh().Trimesh(vertices=vertices, faces=faces, vertex_colors=colors, process=False)


def _bone_vertices(pose: np.ndarray, unit_cylinder: np.ndarray, radius: float) -> np.ndarray:
    """Cylinder vertices ``(21, V, 3)`` per bone: ``p_parent + R (r x, r y, |bone| z)``.

    ``unit_cylinder (V, 3)`` has radius 1 and z in [0, 1]; ``R`` swings +z onto the bone.
    """
    child = np.array([j for j, p in enumerate(PARENTS) if p >= 0])  # (21,)
    start = pose[[PARENTS[j] for j in child]]  # (21, 3)
    bone = pose[child] - start  # (21, 3)
    length = np.linalg.norm(bone, axis=-1)  # (21,)
    rot = swing_rotation(np.array([0.0, 0.0, 1.0]), bone)  # (21, 3, 3); zero bone -> identity
    scale = np.stack([np.full_like(length, radius)] * 2 + [length], axis=-1)  # (21, 3)
    local = unit_cylinder[None] * scale[:, None]  # (21, V, 3)
    return np.einsum("bij,bvj->bvi", rot, local) + start[:, None]


def _instanced_faces(faces: np.ndarray, n_vertices: int, count: int, base: int) -> np.ndarray:
    """Faces ``(count * F, 3)`` of ``count`` copies of a template laid out one after another."""
    shifts = base + n_vertices * np.arange(count)  # (count,)
    return (faces[None] + shifts[:, None, None]).reshape(-1, 3)


def _trimesh():
    """The trimesh module, imported on the first mesh export (about 0.9 s of the app's start)."""
    import trimesh

    return trimesh


@functools.lru_cache(maxsize=8)
def _template(kind: str, detail: int) -> trimesh.Trimesh:
    """Unit cylinder (radius 1, z from 0 to 1, ``detail`` sides) or unit icosphere (level)."""
    if kind == "cylinder":
        mesh = _trimesh().creation.cylinder(radius=1.0, height=1.0, sections=detail)
        mesh.apply_translation([0.0, 0.0, 0.5])
        return mesh
    return _trimesh().creation.icosphere(subdivisions=detail, radius=1.0)


def _faded(rgb: tuple[int, int, int], fade: float) -> np.ndarray:
    """RGBA uint8 ``(4,)``: ``rgb`` blended towards white by ``fade`` in [0, 1]."""
    mixed = np.asarray(rgb, dtype=np.float64) * (1 - fade) + 255.0 * fade
    return np.append(np.round(mixed), 255).astype(np.uint8)


def _concatenate(meshes: list[trimesh.Trimesh]) -> trimesh.Trimesh:
    """One mesh from several (vertex colours kept, nothing merged or recomputed)."""
    offsets = np.cumsum([0] + [len(m.vertices) for m in meshes[:-1]])
    return _trimesh().Trimesh(
        vertices=np.concatenate([m.vertices for m in meshes]),
        faces=np.concatenate([m.faces + o for m, o in zip(meshes, offsets)]),
        vertex_colors=np.concatenate([m.visual.vertex_colors for m in meshes]),
        process=False,
    )
