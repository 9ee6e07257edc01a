"""``python -m esd.pretrain salad``: a tiny SALAD-family model trained on a tiny procedural corpus
with the fixtures' tiny CLIP (8-d states), then read back by the existing SALAD loaders.

Checked: both losses equal independent computations on stub networks (v from the scaled-linear
schedule written out here, masking, the VAE's terms and weights) and fall on a fixed batch; the
written folders list as one SALAD model (not three), load strictly (``load_salad_model``) with
the meta statistics, generate a motion of the asked shape, and ``esd.train`` erases from it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from esd.corpus.writer import write_corpus
from esd.erasure.epochs import training_clips
from esd.models import checkpoints as ck
from esd.models.generator import MotionGenerator
from esd.models.salad.denoiser import SaladDenoiser
from esd.models.salad.folder import load_salad_model, read_state, salad_schedule
from esd.models.salad.options import read_salad_opt
from esd.models.salad.vae import SaladVAE
from esd.models.text.batch import TextBatch
from esd.motion.humanml3d import MotionFolder
from esd.pretrain.cli import main
from esd.pretrain.salad_config import SALAD_PRESETS, SaladTrainConfig, meta_statistics
from esd.pretrain.salad_denoiser import denoiser_config, salad_denoiser_loss
from esd.pretrain.salad_stage import SCHEDULE_OPTIONS
from esd.pretrain.salad_vae import salad_vae_loss, vae_config

NAME = "t2m_salad_tiny"  # the salad stage's default name for --config tiny
CLIP = "clip-vit-base-patch32"
TINY = replace(SALAD_PRESETS["tiny"], text_dim=8)  # the fixture CLIP's width
STEPS = ["--vae_steps", "30", "--denoiser_steps", "30", "--batch_size", "8", "--vae_batch_size",
         "16", "--device", "cpu"]  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny networks: more threads only add contention on the shared 2-core CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """60 procedural clips (40 train, 10 val, 10 test), 2 s to write."""
    out = tmp_path_factory.mktemp("salad_corpus") / "t2m_synth"
    write_corpus(out, clips=60, seed=0)
    return out


@pytest.fixture(scope="module")
def trained(corpus: Path, salad_fixture_dir: Path, tmp_path_factory) -> tuple[Path, Path]:
    """(checkpoints, clip): ``python -m esd.pretrain salad --config tiny`` on the corpus."""
    checkpoints = tmp_path_factory.mktemp("salad_pretrain") / "checkpoints"
    clip = salad_fixture_dir / "clip_tiny" / CLIP
    main(["salad", "--config", "tiny", "--data_root", str(corpus), "--checkpoints_dir",
          str(checkpoints), "--clip_path", str(clip), *STEPS])  # fmt: skip
    return checkpoints, clip


# --- the losses -------------------------------------------------------------------------------


def scaled_linear_abar() -> torch.Tensor:
    """SALAD's alpha_bar_t written out: cumprod(1 - linspace(sqrt .00085, sqrt .012, 1000)^2)."""
    betas = np.linspace(0.00085**0.5, 0.012**0.5, 1000, dtype=np.float64) ** 2
    return torch.from_numpy(np.cumprod(1 - betas)).float()


class VStub(torch.nn.Module):
    """A 'denoiser' returning the exact v of x_t for a known z0 (padding filled with junk)."""

    def __init__(self, z0: torch.Tensor, junk: float = 0.0, offset: float = 0.0) -> None:
        super().__init__()
        self.z0, self.junk, self.offset = z0, junk, offset

    def forward(self, x_t, t, states, text_mask, len_mask):
        abar = scaled_linear_abar()[t].reshape(-1, 1, 1, 1)
        v = (abar.sqrt() * x_t - self.z0) / (1 - abar).sqrt()  # v = (a x_t - z0) / s
        return torch.where(
            len_mask[..., None, None], v + self.offset, torch.full_like(v, self.junk)
        )


def latent_batch() -> tuple[torch.Tensor, torch.Tensor, TextBatch]:
    """z0 (3, 5, 7, 8) zero past lengths (5, 3, 2), mask (3, 5), a text batch (3, 4, 8)."""
    mask = torch.arange(5)[None] < torch.tensor([5, 3, 2])[:, None]
    z0 = torch.randn(3, 5, 7, 8, generator=torch.Generator().manual_seed(1)) * mask[..., None, None]
    text = TextBatch(torch.randn(3, 4, 8), torch.ones(3, 4, dtype=torch.bool))
    return z0, mask, text


def test_v_loss_is_zero_for_the_true_v_and_ignores_padding() -> None:
    schedule = salad_schedule(SCHEDULE_OPTIONS)
    z0, mask, text = latent_batch()
    exact = salad_denoiser_loss(VStub(z0, junk=1e3), schedule, z0, mask, text,
                                torch.Generator().manual_seed(0))  # fmt: skip
    assert float(exact) < 1e-8
    off = salad_denoiser_loss(VStub(z0, junk=1e3, offset=0.5), schedule, z0, mask, text,
                              torch.Generator().manual_seed(0))  # fmt: skip
    assert float(off) == pytest.approx(0.25, rel=1e-4)  # mean of 0.5^2 over valid tokens only


class ReconStub(torch.nn.Module):
    """A 'VAE' with mu = logvar = 0 (KL 0) decoding x + ``shift`` on the dims in ``dims``."""

    def __init__(self, x: torch.Tensor, dims: slice, shift: float) -> None:
        super().__init__()
        self.x, self.dims, self.shift = x, dims, shift

    def encode(self, x, generator=None):
        zeros = torch.zeros(x.shape[0], x.shape[1] // 4, 7, 8)
        return zeros, zeros, zeros

    def decode(self, z):
        out = self.x.clone()
        out[..., self.dims] += self.shift
        return out


@pytest.mark.parametrize(
    ("dims", "expected"),
    [  # smooth L1 of a shift of 0.5 on n of 263 dims: 0.125 n / 263, weighted per term
        (slice(0, 4), 1.0 * 0.125 * 4 / 263),  # root: the feature term only
        (slice(4, 67), 1.0 * 0.125 * 63 / 263 + 0.5 * 0.125),  # ric: features + positions
        (slice(193, 259), 1.0 * 0.125 * 66 / 263 + 0.5 * 0.125),  # velocities
    ],
)
def test_vae_loss_terms_and_weights(dims: slice, expected: float) -> None:
    x = torch.randn(2, 8, 263)
    loss = salad_vae_loss(ReconStub(x, dims, 0.5), x, SaladTrainConfig())
    assert float(loss) == pytest.approx(expected, rel=1e-5)


def test_both_losses_fall_on_a_fixed_batch(corpus: Path) -> None:
    """30 Adam steps on one batch (same t, noise and posterior draw every step)."""
    torch.manual_seed(0)
    folder = MotionFolder(corpus)
    mean, std = meta_statistics(folder.mean, folder.std)
    clips = [(r.features[:32] - mean) / std for r in folder.load_split("train", limit=4)]
    x = torch.from_numpy(np.stack(clips)).float()  # (4, 32, 263)
    vae = SaladVAE(vae_config(TINY)).train()
    denoiser = SaladDenoiser(denoiser_config(TINY, TINY.vae_latent_dim)).train()
    with torch.no_grad():
        z0 = vae.encode_stats(x)[0]  # (4, 8, 7, 8)
    mask = torch.ones(z0.shape[:2], dtype=torch.bool)
    text = TextBatch(torch.randn(4, 3, 8), torch.ones(4, 3, dtype=torch.bool))
    schedule, cfg = salad_schedule(SCHEDULE_OPTIONS), SaladTrainConfig()

    def vae_loss() -> torch.Tensor:
        return salad_vae_loss(vae, x, cfg, torch.Generator().manual_seed(0))

    def v_loss() -> torch.Tensor:
        return salad_denoiser_loss(denoiser, schedule, z0, mask, text,
                                   torch.Generator().manual_seed(0))  # fmt: skip

    for model, loss_fn in ((vae, vae_loss), (denoiser, v_loss)):
        model.eval()  # no dropout: the batch is exactly fixed
        optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], 3e-3)
        losses = []
        for _ in range(30):
            loss = loss_fn()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
        assert losses[-1] < 0.7 * losses[0], losses


# --- the written folders ----------------------------------------------------------------------


def test_writes_one_salad_model_in_salad_layout(trained, corpus: Path) -> None:
    checkpoints, _ = trained
    entries = {e.name: e for e in ck.list_models(checkpoints) if not e.bundled}
    assert set(entries) == {NAME}  # the VAE and statistics folders are parts, not models
    assert (entries[NAME].kind, entries[NAME].family) == ("base", "salad")
    root = checkpoints / "t2m" / NAME
    options = read_salad_opt(root / "opt.txt")
    assert options["vae_name"] == f"{NAME}_vae" and options["n_layers"] == TINY.num_layers
    state, epoch = read_state(root / "model" / "net_best_fid.tar", "denoiser")
    assert isinstance(epoch, int) and not any(k.startswith("clip_model.") for k in state)
    vae_data = torch.load(checkpoints / "t2m" / f"{NAME}_vae" / "model" / "net_best_fid.tar",
                          weights_only=True)  # fmt: skip
    assert set(vae_data) == {"vae", "epoch"}
    model = load_salad_model(root)  # strict: raises on any missing / unexpected key
    assert model.denoiser.cfg.text_dim == 8 and model.denoiser.cfg.model_dim == TINY.model_dim
    assert model.vae.cfg.latent_dim == TINY.vae_latent_dim
    folder = MotionFolder(corpus)
    expected = meta_statistics(folder.mean, folder.std)
    np.testing.assert_allclose(model.stats["feature_std"].numpy(), expected[1], rtol=1e-6)
    assert (checkpoints / "t2m" / NAME / "logs" / "train.log").is_file()


def test_generates_and_erases_as_a_salad_model(trained, tmp_path) -> None:
    from esd.train import main as train_main

    checkpoints, clip = trained
    generator = MotionGenerator.from_checkpoint(NAME, checkpoints_dir=checkpoints, device="cpu",
                                                clip_path=clip)  # fmt: skip
    assert generator.family.name == "salad"
    clips = training_clips(NAME, generator.info, None)  # an epoch of ESD: the corpus's split
    assert (clips.count, clips.source) == (40, f"recorded by the base {NAME}")
    out = generator.generate(["a person walks forward"], lengths=[40], num_steps=10)
    assert out.joints.shape == (1, 40, 22, 3) and np.isfinite(out.joints).all()
    train_main(["--name", NAME, "--checkpoints_dir", str(checkpoints), "--clip_path", str(clip),
                "--target_concept", "a person kicking", "--iterations", "2", "--trajectories",
                "2", "--ddim_steps", "10", "--device", "cpu"])  # fmt: skip
    run = f"{NAME}_ESD_a_person_kicking"
    entry = {e.name: e for e in ck.list_models(checkpoints)}[run]
    assert (entry.kind, entry.family) == ("esd", "salad")
    assert ck.load_checkpoint(entry.paths.latest, kind="esd")["total_iter"] == 2


def test_the_workbench_lists_and_loads_it(trained, tmp_path) -> None:
    from esd.workbench.service import Workbench

    checkpoints, clip = trained
    bench = Workbench(checkpoints, tmp_path / "out", "cpu", clip_path=clip)
    info = bench.models.usable_info(NAME)
    assert (info.kind, info.family, info.text_encoder) == ("base", "salad", "CLIP ViT-B/32")
    assert bench.models.generator(NAME).family.name == "salad"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--data_root", "/nonexistent/folder"], "does not exist"),
        (["--clip_path", "/nonexistent/clip"], "no CLIP model in /nonexistent/clip"),
        (["--text_dim", "512"], "does not match the CLIP's 8-d token states"),
        (["--num_heads", "3"], "divisible by n_heads=3"),
        (["--resume"], "cannot resume"),
    ],
)
def test_bad_input_is_one_line_error(argv, message, corpus, salad_fixture_dir, tmp_path, capsys):
    clip = salad_fixture_dir / "clip_tiny" / CLIP
    base = ["salad", "--config", "tiny", "--data_root", str(corpus), "--clip_path", str(clip),
            "--checkpoints_dir", str(tmp_path)]  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:
        main([*base, *argv])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("error:") == 1
    assert not (tmp_path / "t2m").exists()  # nothing written before the input was checked


def test_existing_folder_needs_overwrite(trained, corpus, capsys) -> None:
    checkpoints, clip = trained
    with pytest.raises(SystemExit):
        main(["salad", "--config", "tiny", "--data_root", str(corpus), "--checkpoints_dir",
              str(checkpoints), "--clip_path", str(clip), *STEPS])  # fmt: skip
    assert "--overwrite" in capsys.readouterr().err
