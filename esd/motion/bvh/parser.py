"""A BVH (Biovision Hierarchy) reader: the skeleton and the motion table, nothing interpreted.

Grammar (whitespace-agnostic; keywords case-sensitive as written by every exporter we know):

    HIERARCHY
    ROOT name { OFFSET x y z  CHANNELS n c_1 .. c_n
                (JOINT name { ... } | End Site { OFFSET x y z })* }
    MOTION
    Frames: F
    Frame Time: dt
    F rows of sum(n) numbers, channels in hierarchy order

A joint's channels are any of X/Y/Zposition and X/Y/Zrotation (degrees), in the order listed;
``esd.motion.bvh.kinematics`` gives them meaning. A malformed file raises ``BvhError`` with one
line naming the file and what is wrong.

A maintained PyPI reader exists (bvhio); it builds a Python object per joint and frame and
pulls in PyGLM, while everything here needs only the channel table as one NumPy array, so
the format is read directly (about a hundred lines).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

POSITION_CHANNELS = ("Xposition", "Yposition", "Zposition")
ROTATION_CHANNELS = ("Xrotation", "Yrotation", "Zrotation")
_CHANNEL_NAMES = {c.lower(): c for c in POSITION_CHANNELS + ROTATION_CHANNELS}


class BvhError(ValueError):
    """A BVH file cannot be read; the message names the file and the problem."""


@dataclass(frozen=True)
class BvhJoint:
    """One joint of the hierarchy."""

    name: str
    parent: int  # index of the parent joint, -1 for the root
    offset: np.ndarray  # (3,) rest offset from the parent, file units
    channels: tuple[str, ...]  # canonical channel names in file order, e.g. ("Zrotation", ...)
    end_site: np.ndarray | None  # (3,) offset of the End Site child, None if it has none


@dataclass(frozen=True)
class Bvh:
    """A parsed BVH file: joints in file order (parents first) and the motion table."""

    joints: tuple[BvhJoint, ...]
    frame_time: float  # seconds per frame
    motion: np.ndarray  # (F, C) float64, C = total channel count, columns in joint order
    source: str = ""  # file name, for messages

    @property
    def names(self) -> list[str]:
        return [j.name for j in self.joints]

    @property
    def parents(self) -> list[int]:
        return [j.parent for j in self.joints]

    @property
    def num_frames(self) -> int:
        return int(self.motion.shape[0])

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time

    def channel_columns(self) -> list[slice]:
        """Column slice of each joint's channels in ``motion``."""
        columns, start = [], 0
        for joint in self.joints:
            columns.append(slice(start, start + len(joint.channels)))
            start += len(joint.channels)
        return columns


class _Tokens:
    """A cursor over whitespace-separated tokens, raising BvhError with the file name."""

    def __init__(self, text: str, source: str) -> None:
        self.items = text.split()
        self.pos = 0
        self.source = source

    def fail(self, message: str) -> BvhError:
        return BvhError(f"{self.source}: {message} (token {self.pos} of the file)")

    def next(self, what: str) -> str:
        if self.pos >= len(self.items):
            raise self.fail(f"the file ends where {what} was expected")
        self.pos += 1
        return self.items[self.pos - 1]

    def expect(self, word: str) -> None:
        found = self.next(repr(word))
        if found != word:
            raise self.fail(f"expected {word!r}, found {found!r}")

    def number(self, what: str) -> float:
        token = self.next(what)
        try:
            return float(token)
        except ValueError:
            raise self.fail(f"{what} must be a number, found {token!r}") from None

    def offset(self) -> np.ndarray:
        self.expect("OFFSET")
        return np.array([self.number("an OFFSET value") for _ in range(3)])


def _channels(tokens: _Tokens) -> tuple[str, ...]:
    tokens.expect("CHANNELS")
    count = tokens.number("the channel count")
    if count != int(count) or not 0 <= count <= 6:
        raise tokens.fail(f"a joint has 0 to 6 channels, found {count:g}")
    names = []
    for _ in range(int(count)):
        token = tokens.next("a channel name")
        if token.lower() not in _CHANNEL_NAMES:
            raise tokens.fail(f"unknown channel {token!r} (expected X/Y/Z position or rotation)")
        names.append(_CHANNEL_NAMES[token.lower()])
    return tuple(names)


def _joint(tokens: _Tokens, name: str, parent: int, out: list[BvhJoint]) -> None:
    """Read one joint body ``{ ... }`` (after its name) and its descendants into ``out``."""
    tokens.expect("{")
    offset = tokens.offset()
    channels = _channels(tokens)
    index = len(out)
    out.append(BvhJoint(name, parent, offset, channels, None))
    while (word := tokens.next("JOINT, End Site or '}'")) != "}":
        if word == "JOINT":
            _joint(tokens, tokens.next("a joint name"), index, out)
        elif word == "End":
            tokens.expect("Site")
            tokens.expect("{")
            end = tokens.offset()
            tokens.expect("}")
            j = out[index]
            out[index] = BvhJoint(j.name, j.parent, j.offset, j.channels, end)
        else:
            raise tokens.fail(f"expected JOINT, End Site or '}}', found {word!r}")


def _motion_header(tokens: _Tokens) -> tuple[int, float]:
    tokens.expect("MOTION")
    tokens.expect("Frames:")
    frames = tokens.number("the frame count")
    if frames != int(frames) or frames < 1:
        raise tokens.fail(f"Frames must be a whole number >= 1, found {frames:g}")
    tokens.expect("Frame")
    tokens.expect("Time:")
    frame_time = tokens.number("the frame time")
    if not np.isfinite(frame_time) or frame_time <= 0:
        raise tokens.fail(f"Frame Time must be a positive number of seconds, found {frame_time:g}")
    return int(frames), frame_time


def parse_bvh(text: str, source: str = "<bvh>") -> Bvh:
    """Parse the text of a BVH file; BvhError (one line) if it is malformed."""
    tokens = _Tokens(text, source)
    tokens.expect("HIERARCHY")
    tokens.expect("ROOT")
    joints: list[BvhJoint] = []
    _joint(tokens, tokens.next("the root name"), -1, joints)
    if tokens.pos < len(tokens.items) and tokens.items[tokens.pos] == "ROOT":
        raise tokens.fail("files with several ROOT hierarchies are not supported")
    frames, frame_time = _motion_header(tokens)
    width = sum(len(j.channels) for j in joints)
    try:
        values = np.array(tokens.items[tokens.pos :], dtype=np.float64)
    except ValueError:
        raise BvhError(f"{source}: the MOTION section holds a value that is not a number") from None
    if values.size != frames * width:
        raise BvhError(
            f"{source}: MOTION holds {values.size} numbers, expected {frames} frames x "
            f"{width} channels = {frames * width}"
        )
    if not np.isfinite(values).all():
        raise BvhError(f"{source}: the MOTION section holds NaN or infinite values")
    return Bvh(tuple(joints), frame_time, values.reshape(frames, width), source)  # (F, C)


def read_bvh(path: str | Path) -> Bvh:
    """Read and parse a BVH file; BvhError if it is missing, unreadable or malformed."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise BvhError(f"cannot read {path}: {err.strerror or err}") from None
    return parse_bvh(text, path.name)
