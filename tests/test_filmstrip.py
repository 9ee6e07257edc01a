"""viz.filmstrip (film strips and GIFs drawn with Pillow) and the ``python -m viz.gallery`` CLI."""

import io
import json

import numpy as np
import pytest
from PIL import Image

from esd.corpus import rig
from esd.models import generator
from viz import filmstrip
from viz.filmstrip import animated_gif, film_strip, side_colours
from viz.gallery import ENTRIES, main
from viz.motion_axes import LEFT, RIGHT

INK_TOLERANCE = 30  # summed |RGB| difference under which a pixel is "of" a colour


def walk(frames: int = 40) -> np.ndarray:
    """Rest-pose body swinging its legs (+-0.5 rad, 1 s period) while moving 1 m/s along +z."""
    pose = rig.Pose.rest(frames)
    swing = 0.5 * np.sin(2 * np.pi * np.arange(frames) / 20)
    rig.hip_flex(pose, "left", swing)
    rig.hip_flex(pose, "right", -swing)
    root = np.stack([np.zeros(frames), np.full(frames, rig.standing_pelvis_height()),
                     np.arange(frames) / 20], -1)  # fmt: skip
    return rig.forward_kinematics(pose, root).astype(np.float32)


def arms_down_then_right_arm_up() -> np.ndarray:
    """Two frames (2, 22, 3): the rest pose, then the right arm raised overhead."""
    pose = rig.Pose.rest(2)
    rig.shoulder_flex(pose, "right", np.array([0.0, np.pi]))
    root = np.tile([0.0, rig.standing_pelvis_height(), 0.0], (2, 1))
    return rig.forward_kinematics(pose, root).astype(np.float32)


def near(pixels: np.ndarray, rgb) -> np.ndarray:
    """Mask (H, W) of the pixels of an (H, W, 3) image within INK_TOLERANCE of ``rgb``."""
    return np.abs(pixels.astype(int) - np.asarray(rgb)).sum(-1) < INK_TOLERANCE


def ink(pixels: np.ndarray) -> np.ndarray:
    """Mask (H, W) of every pixel that is not background."""
    return ~near(pixels, filmstrip.BACKGROUND)


def test_strip_has_one_panel_per_pose_and_every_panel_shows_a_body() -> None:
    image = film_strip(walk(), frames=8, size=(100, 150))
    assert image.mode == "RGB" and image.size == (800, 150)
    pixels = np.asarray(image)
    for k in range(8):
        assert ink(pixels[:, k * 100 + 2 : (k + 1) * 100 - 2]).sum() > 300  # not blank
    short = film_strip(walk(5), frames=8, size=(100, 150))
    assert short.size == (500, 150)  # a clip shorter than the strip: one panel per frame


def test_a_raised_right_arm_puts_ink_higher_and_in_the_right_colour() -> None:
    """y is up on screen: the arm overhead (frame 1) reaches above the head of frame 0. A
    projection flipping y would put the feet at the top of both panels (same top row)."""
    w = 120
    pixels = np.asarray(film_strip(arms_down_then_right_arm_up(), frames=2, size=(w, 200),
                                   label=False))  # fmt: skip
    tops = []
    for k in range(2):
        rows = np.flatnonzero(ink(pixels[:, k * w + 2 : (k + 1) * w - 2]).any(axis=1))
        tops.append(rows[0])
    assert tops[1] < tops[0] - 10
    top_row = pixels[tops[1] : tops[1] + 3, w + 2 : 2 * w - 2]
    assert near(top_row, side_colours()[RIGHT]).any()  # the highest ink is the right arm
    assert not near(top_row, side_colours()[LEFT]).any()


def test_left_and_right_limbs_differ_in_colour_and_face_the_viewer_in_front_view() -> None:
    """Front view: the camera faces the body, so its left limbs are on the picture's right."""
    colours = side_colours()
    assert colours[LEFT] != colours[RIGHT]
    pixels = np.asarray(film_strip(walk(1), frames=1, size=(200, 300), view="front"))
    left_x = np.flatnonzero(near(pixels, colours[LEFT]).any(axis=0))
    right_x = np.flatnonzero(near(pixels, colours[RIGHT]).any(axis=0))
    assert len(left_x) > 5 and len(right_x) > 5
    assert left_x.mean() > 100 > right_x.mean()


def test_gif_decodes_into_one_frame_per_stride_at_10_fps() -> None:
    data = animated_gif(walk(40), stride=2, height=120, max_width=300)
    gif = Image.open(io.BytesIO(data))
    assert gif.format == "GIF" and gif.is_animated and gif.n_frames == 20
    assert gif.size[1] == 120 and gif.size[0] <= 300
    assert gif.info["duration"] == 100 and gif.info["loop"] == 0
    gif.seek(10)
    assert ink(np.asarray(gif.convert("RGB"))).sum() > 200


def test_bad_view_and_shape_are_errors() -> None:
    with pytest.raises(ValueError, match="view must be one of"):
        film_strip(walk(4), view="top")
    with pytest.raises(ValueError, match="must have shape"):
        film_strip(np.zeros((4, 21, 3)))


@pytest.fixture
def shared_encoder(text_encoder):
    generator._SHARED_TEXT_ENCODERS["cpu"] = text_encoder  # reuse the session's loaded encoder


def test_gallery_cli_writes_strips_gifs_json_and_markdown(shared_encoder, tmp_path, capsys):
    out = tmp_path / "gallery"
    assert main(["--out", str(out), "--steps", "10", "--seconds", "2", "--device", "cpu"]) == 0
    record = json.loads((out / "gallery.json").read_text())
    assert [c["concept"] for c in record["clips"]] == [e.concept for e in ENTRIES]
    assert record["model"]["name"] == "t2m_denoiser_vpred_vaegelu"
    assert len(record["model"]["fingerprint"]) == 16 and record["steps"] == 10
    markdown = (out / "gallery.md").read_text()
    for clip in record["clips"]:
        assert clip["prompt"] in markdown and clip["seed"] == 0 and clip["frames"] == 40
        strip = Image.open(out / clip["strip"])
        assert strip.size == (8 * filmstrip.PANEL_SIZE[0], filmstrip.PANEL_SIZE[1])
        assert Image.open(out / clip["gif"]).is_animated
        assert f"({clip['gif']})" in markdown and f"({clip['strip']})" in markdown
    walk_numbers = record["clips"][0]["measures"]
    assert set(walk_numbers) == {"supporting-foot speed", "ankle lift", "pelvis speed"}
    assert walk_numbers["ankle lift"]["target"] == 8.0
    assert np.isfinite(record["clips"][3]["measures"]["jump clearance"]["value"])
    listed = sum(f.stat().st_size for f in out.iterdir() if f.name != "gallery.json")
    assert record["total_bytes"] == listed == sum(record["bytes"].values())
    assert not list(out.glob(".*.tmp"))  # written atomically
    assert "wrote 4 strips" in capsys.readouterr().err
    assert record["plant_feet"] is False and "measures_as_generated" not in record["clips"][0]


def test_gallery_plant_feet_draws_planted_clips_and_keeps_the_numbers_as_generated(
    shared_encoder, tmp_path
):
    raw, planted = tmp_path / "raw", tmp_path / "planted"
    argv = ["--steps", "10", "--seconds", "2", "--device", "cpu"]
    assert main(["--out", str(raw), *argv]) == 0
    assert main(["--out", str(planted), *argv, "--plant_feet"]) == 0
    raw_walk = json.loads((raw / "gallery.json").read_text())["clips"][0]
    record = json.loads((planted / "gallery.json").read_text())
    walk = record["clips"][0]
    assert record["plant_feet"] is True
    assert walk["measures_as_generated"] == raw_walk["measures"]  # same sample, as generated
    assert walk["measures"]["ankle lift"] == raw_walk["measures"]["ankle lift"]  # pose kept
    assert "feet planted" in (planted / "gallery.md").read_text()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--name", "nope"], "unknown model 'nope'"),
        (["--seconds", "1"], "seconds must be between"),
        (["--guidance", "50"], "--guidance must be between"),
        (["--steps", "2"], "--steps must be at least 10"),
    ],
)
def test_bad_input_is_one_error_line_and_writes_nothing(tmp_path, capsys, extra, message):
    out = tmp_path / "gallery"
    with pytest.raises(SystemExit) as exit_info:
        main(["--out", str(out), "--device", "cpu", *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(err) == 1
    assert err[0].startswith("error:") and message in err[0]
    assert not out.exists()
