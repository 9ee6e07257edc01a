"""SALAD model folders behind the project's interfaces: the registry, MotionGenerator loading,
ESD overlays, payloads, and an unlearned denoiser written back in SALAD's own format."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from esd.models import checkpoints as ck
from esd.models.bundled.denoiser import count_parameters, select_parameters
from esd.models.generator import MotionGenerator, apply_denoiser_overlay
from esd.models.salad.folder import load_salad_model, read_state, write_salad_model
from esd.models.salad.options import read_salad_opt
from esd.models.text.clip import ClipTextEncoder

NAME = "t2m_denoiser_vpred_vaegelu"
RUN = f"{NAME}_ESD_a_person_kicking"
CROSS_KEY = "transformer.middle_block.cross_attn.Wk.weight"


@pytest.fixture
def salad_dir(salad_fixture_dir: Path, tmp_path: Path) -> Path:
    """A writable copy of SALAD's checkpoints folder (denoiser, VAE, meta, evaluator)."""
    shutil.copytree(salad_fixture_dir / "checkpoints", tmp_path / "checkpoints")
    return tmp_path / "checkpoints"


def load(salad_dir: Path, name: str, encoder) -> MotionGenerator:
    return MotionGenerator.from_checkpoint(
        name, checkpoints_dir=salad_dir, device="cpu", text_encoder=encoder
    )


def write_run(salad_dir: Path, generator: MotionGenerator) -> tuple[ck.RunPaths, torch.Tensor]:
    """An ESD run over the SALAD base: only its trained tensor plus the base reference."""
    changed = generator.denoiser.state_dict()[CROSS_KEY] + 0.25
    run = ck.run_paths(salad_dir, RUN)
    payload = {"kind": "esd", "denoiser": {CROSS_KEY: changed}, "epoch": 3,
               "base": {"name": NAME, "ckpt": "net_best_fid.tar"}}  # fmt: skip
    ck.save_checkpoint(payload, run.latest)
    return run, changed


def test_registry_detects_salad_folders(salad_dir: Path, salad_text_encoder) -> None:
    entries = {e.name: e for e in ck.list_models(salad_dir)}
    salad = entries[NAME]
    assert (salad.kind, salad.family, salad.text_encoder) == ("base", "salad", "CLIP ViT-B/32")
    for part in ("t2m_vae_gelu", "Comp_v6_KLD005", "text_mot_match"):  # parts, not models
        assert part not in entries
    with pytest.raises(ck.CheckpointError, match="unknown model"):
        ck.resolve_model("t2m_vae_gelu", salad_dir)
    with pytest.raises(ck.CheckpointError, match="SALAD checkpoint"):
        ck.load_checkpoint(salad.paths.best)
    write_run(salad_dir, load(salad_dir, NAME, salad_text_encoder))
    run = {e.name: e for e in ck.list_models(salad_dir)}[RUN]
    assert (run.kind, run.family) == ("esd", "salad")


def test_loads_a_salad_folder(salad_dir: Path, salad_text_encoder) -> None:
    generator = load(salad_dir, NAME, salad_text_encoder)
    assert generator.family.name == "salad" and generator.info["epoch"] == 0
    assert generator.text_encoder is salad_text_encoder
    assert generator.schedule.config() == {
        "num_steps": 1000, "kind": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012,
        "spacing": "leading",
    }  # fmt: skip
    state, _ = read_state(salad_dir / "t2m" / NAME / "model" / "net_best_fid.tar", "denoiser")
    for key, value in generator.denoiser.state_dict().items():
        assert torch.equal(value, state[key]), key
    meta = salad_dir / "t2m" / "Comp_v6_KLD005" / "meta"
    assert np.array_equal(generator.stats["feature_std"].numpy(), np.load(meta / "std.npy"))
    assert generator.stats["latent_std"].shape == (224,)
    assert generator.info["salad_options"]["vae_name"] == "t2m_vae_gelu"


def test_text_encoder_choice_and_clip_path(salad_dir: Path, salad_fixture_dir: Path) -> None:
    """A text encoder of another family (MiniLM) is not used for SALAD: its CLIP comes from
    clip_path or {checkpoints_dir}/clip-vit-base-patch32, else one clear error."""
    not_clip = object()
    with pytest.raises(ck.CheckpointError, match="clip_path"):
        load(salad_dir, NAME, not_clip)
    clip = salad_fixture_dir / "clip_tiny" / "clip-vit-base-patch32"
    generator = MotionGenerator.from_checkpoint(
        NAME, checkpoints_dir=salad_dir, device="cpu", text_encoder=not_clip, clip_path=clip
    )
    assert isinstance(generator.text_encoder, ClipTextEncoder)
    assert generator.text_encoder.model_dir == clip
    shutil.copytree(clip, salad_dir / "clip-vit-base-patch32")
    default = load(salad_dir, NAME, None)
    assert default.text_encoder.model_dir == salad_dir / "clip-vit-base-patch32"


def test_missing_meta_and_wrong_sizes_are_one_line(salad_dir: Path, salad_text_encoder) -> None:
    opt = salad_dir / "t2m" / NAME / "opt.txt"
    text = opt.read_text()
    opt.write_text(text.replace("latent_dim: 64", "latent_dim: 128"))
    with pytest.raises(ck.CheckpointError, match=r"does not fit .*\(64, 32\)") as info:
        load(salad_dir, NAME, salad_text_encoder)
    assert "\n" not in str(info.value)
    opt.write_text(text.replace("prediction_type: v_prediction", "prediction_type: epsilon"))
    with pytest.raises(ck.CheckpointError, match="v-prediction"):
        load(salad_dir, NAME, salad_text_encoder)
    opt.write_text(text)
    shutil.rmtree(salad_dir / "t2m" / "Comp_v6_KLD005")
    with pytest.raises(ck.CheckpointError, match=r"Comp_v6_KLD005.*Std\.npy"):
        load(salad_dir, NAME, salad_text_encoder)


def test_esd_x_trains_only_cross_attention_through_the_generator(
    salad_dir: Path, salad_text_encoder
) -> None:
    """What the ESD loop does with any family: a frozen teacher, a student copy with ESD-x's
    parameters trainable, v from ``denoise_fn``; the gradient reaches exactly those tensors."""
    base = load(salad_dir, NAME, salad_text_encoder)
    student = copy.deepcopy(base.denoiser)
    names = set(select_parameters(student, "esd-x"))
    assert len(names) == 3 * 8 and count_parameters(student, list(names)) == 3 * 4 * (64 * 64 + 64)
    for name, param in student.named_parameters():
        param.requires_grad_(name in names)
    mask = base.latent_mask([64, 40])
    x_t = base.initial_noise(2, mask.shape[1], seed=0)
    t = torch.tensor([500, 20])
    cond, uncond = base.encode_prompts(["a person kicks with the left leg.", ""])
    with torch.no_grad():
        target = base.denoise_fn(mask)(x_t, t, uncond)
    loss = ((base.denoise_fn(mask, student)(x_t, t, cond) - target) ** 2).mean()
    loss.backward()
    grads = {n for n, p in student.named_parameters() if p.grad is not None and p.grad.abs().sum()}
    assert grads == names


def test_esd_run_overlays_its_salad_base(salad_dir: Path, salad_text_encoder) -> None:
    base = load(salad_dir, NAME, salad_text_encoder)
    run, changed = write_run(salad_dir, base)
    assert ck.default_checkpoint(run) == run.latest
    erased = load(salad_dir, RUN, salad_text_encoder)
    assert erased.family.name == "salad" and erased.info["name"] == RUN
    assert torch.equal(erased.denoiser.state_dict()[CROSS_KEY], changed)
    assert torch.equal(base.denoiser.state_dict()[CROSS_KEY] + 0.25, changed)


def test_unlearned_denoiser_written_in_salads_format_reloads_strictly(
    salad_dir: Path, salad_text_encoder
) -> None:
    """model/net_best_fid.tar = {'denoiser', 'epoch'} + a SALAD opt.txt naming the VAE: SALAD's
    loaders read the run folder as a model; the keys equal the original's, in its order."""
    base = load(salad_dir, NAME, salad_text_encoder)
    run, changed = write_run(salad_dir, base)
    erased = base.with_denoiser(
        apply_denoiser_overlay(base.denoiser, ck.load_checkpoint(run.latest, kind="esd"))
    )
    extra = {"target_concept": "a person kicking", "negative_guidance": 1.5}
    path = write_salad_model(run.root, erased.denoiser, base.info["salad_options"], 3, extra)
    data = torch.load(path, map_location="cpu", weights_only=True)
    assert set(data) == {"denoiser", "epoch"} and data["epoch"] == 3
    original, _ = read_state(salad_dir / "t2m" / NAME / "model" / "net_best_fid.tar", "denoiser")
    assert list(data["denoiser"]) == list(original)
    options = read_salad_opt(run.opt_file)
    assert options["name"] == RUN and options["vae_name"] == "t2m_vae_gelu"
    assert options["negative_guidance"] == 1.5 and options["latent_dim"] == 64
    assert options["save_root"].endswith(f"/{RUN}")
    reloaded = load_salad_model(run.root)  # strict, through opt.txt and vae_name
    assert torch.equal(reloaded.denoiser.state_dict()[CROSS_KEY], changed)
    assert run.opt_file.read_text().startswith("------------ Options")
    entry = {e.name: e for e in ck.list_models(salad_dir)}[RUN]
    assert (entry.kind, entry.family) == ("esd", "salad")  # still the run, latest.tar first
    with pytest.raises(ValueError, match="architecture"):
        write_salad_model(run.root, erased.denoiser, base.info["salad_options"], 3, {"n_heads": 2})


def test_salad_payload_round_trip(salad_dir: Path, salad_text_encoder, tmp_path: Path) -> None:
    base = load(salad_dir, NAME, salad_text_encoder)
    path = ck.save_checkpoint(base.to_payload(), tmp_path / "standalone.tar")
    payload = ck.load_checkpoint(path, kind="base")
    assert payload["family"] == "salad" and payload["salad_options"]["vae_name"] == "t2m_vae_gelu"
    rebuilt = MotionGenerator.from_payload(payload, torch.device("cpu"), salad_text_encoder)
    assert rebuilt.family.name == "salad" and rebuilt.schedule.spacing == "leading"
    mask = base.latent_mask([48])
    x_t, t = base.initial_noise(1, mask.shape[1], seed=1), torch.tensor([300])
    cond, _ = base.encode_prompts(["a man is walking forward slowly"])
    with torch.no_grad():
        expected = base.denoise_fn(mask)(x_t, t, cond)
        assert torch.equal(rebuilt.denoise_fn(mask)(x_t, t, cond), expected)
