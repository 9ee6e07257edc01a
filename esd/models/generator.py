"""MotionGenerator: text encoder + VAE + latent denoiser + noise schedule -> motions from prompts.

    prompts, lengths --text encoder--> TextBatch
    noise z_T (B, N, C), N = ceil(T/4) --DDIM + classifier-free guidance--> z_0
    z_0 * latent_std + latent_mean --VAE decode--> normalised features (B, 4N, 263)
    * std + mean --> features (B, T, 263) --ric decoder--> joints (B, T, 22, 3)

Reproducibility: item i of a call with ``seed`` starts from noise drawn by
``torch.Generator().manual_seed(seed + i)`` for the longest supported clip and cropped to its
length, so the same (seed, index) gives the same motion whatever else is in the batch, and two
models compared with one seed see identical noise.

Families (``esd.models.family.ModelFamily``): the generator holds a family adapter (the bundled
one or SALAD's) and is otherwise family-blind. What erasure, evaluation and the workbench can
rely on, for every family:

* latents are (B, N, C): N = ceil(T / 4) tokens (``latent_mask``), C = ``latent_channels``
  (bundled 16; SALAD 224 = its (7, 32) parts flattened in memory order);
* ``denoise_fn(mask, denoiser)`` -> ``fn(x_t (B', N, C), t (B',), TextBatch) -> v`` for the base
  denoiser or any copy of it (ESD's teacher and student); ``initial_noise``, ``encode_prompts``
  (the family's text encoder; "" is the null prompt), ``schedule`` (it carries the DDIM spacing:
  trailing / leading), ``sampler`` (default guidance / steps: 2.5 / 50 bundled, 7.5 / 50 SALAD);
* ``sample_latents``, ``decode``, ``generate``, ``encode_features`` (normalised latents of raw
  clips), ``with_denoiser``, ``to_payload`` / ``from_payload`` (the family is stored);
* ``denoiser`` is an ``nn.Module`` whose text pathway is named ``cross_attn`` (so
  ``select_parameters`` works) and has a ``cfg`` dataclass; ``family.name`` and
  ``info`` (SALAD: ``salad_options``, the opt.txt to write an unlearned denoiser back with
  ``esd.models.salad.folder.write_salad_model``).

Family-specific (go through the generator or ``family``, not around them): the VAE's own API
(``MotionVAE.decode(z, tokens)`` vs ``SaladVAE.decode(z)`` on (B, N, 7, 32)), the denoiser's
forward signature, and the text encoder class (MiniLM vs CLIP: ``from_checkpoint`` picks the
model's own when the one passed in belongs to the other family).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from esd.common.runtime import autocast, pick_device
from esd.models import checkpoints as ck
from esd.models.bundled.family import BUNDLED
from esd.models.bundled.vae import LATENT_REDUCTION
from esd.models.diffusion import DDIMStep, NoiseSchedule, ddim_sample
from esd.models.family import ModelFamily, SamplerPreset
from esd.models.fingerprint import check_base, fingerprint
from esd.models.salad.family import SALAD
from esd.models.salad.folder import load_salad_model
from esd.models.text.batch import TextBatch
from esd.models.text.clip import CLIP_FOLDER, shared_clip_encoder
from esd.models.text.minilm import TextEncoder
from esd.motion import foot_plant
from esd.motion.features import features_to_joints
from esd.motion.skeleton import FPS, MAX_FRAMES, MAX_SECONDS, MIN_FRAMES, MIN_SECONDS

# A checkpoint of another architecture fails inside the model constructors with these.
ARCHITECTURE_ERRORS = (KeyError, TypeError, RuntimeError, AttributeError)

MAX_LATENT_TOKENS = math.ceil(MAX_FRAMES / LATENT_REDUCTION)
FAMILIES: dict[str, ModelFamily] = {"bundled": BUNDLED, "salad": SALAD}
BASE_INFO_KEYS = ("epoch", "total_iter", "metrics", "created")  # pretraining facts of a base
DEFAULT_GUIDANCE = BUNDLED.sampler.guidance  # the bundled family's CFG scale (any: .sampler)
DEFAULT_STEPS = BUNDLED.sampler.steps  # the bundled family's DDIM steps

_SHARED_TEXT_ENCODERS: dict[str, TextEncoder] = {}


def shared_text_encoder(device: torch.device | str = "cpu") -> TextEncoder:
    """One TextEncoder per device and process (MiniLM loads in seconds; its cache is shared)."""
    key = str(device)
    if key not in _SHARED_TEXT_ENCODERS:
        _SHARED_TEXT_ENCODERS[key] = TextEncoder(device=device)
    return _SHARED_TEXT_ENCODERS[key]


@dataclass
class GeneratedMotion:
    """A batch of generated motions (numpy, on the CPU)."""

    prompts: list[str]
    joints: np.ndarray  # (B, T_max, 22, 3) metres, y up; frames past each length repeat nothing
    features: np.ndarray  # (B, T_max, 263) unnormalised HumanML3D features
    lengths: np.ndarray  # (B,) frames

    def clip(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Joints (T, 22, 3) and features (T, 263) of item ``index``, cropped to its length."""
        length = int(self.lengths[index])
        return self.joints[index, :length], self.features[index, :length]

    def planted(self) -> GeneratedMotion:
        """The same motions with their feet planted (``esd.motion.foot_plant``, each clip's
        valid frames; joints re-derived from the corrected features)."""
        features, joints = self.features.copy(), self.joints.copy()
        for i, n in enumerate(int(n) for n in self.lengths):
            features[i, :n] = foot_plant.plant_feet(features[i, :n])
            joints[i, :n] = features_to_joints(features[i, :n])
        return GeneratedMotion(list(self.prompts), joints, features, self.lengths.copy())


def frames_from_seconds(seconds: float | Sequence[float]) -> list[int]:
    """Seconds -> frame counts at 20 fps; ValueError outside [2, 9.8] s."""
    values = [seconds] if isinstance(seconds, int | float) else list(seconds)
    frames = []
    for value in values:
        if not math.isfinite(value) or not MIN_SECONDS <= value <= MAX_SECONDS:
            raise ValueError(
                f"seconds must be between {MIN_SECONDS} and {MAX_SECONDS} (got {value}): "
                "the model was trained on clips of 2 to 9.8 s"
            )
        frames.append(round(value * FPS))
    return frames


def _check_lengths(lengths: Sequence[int]) -> list[int]:
    checked = [int(n) for n in lengths]
    for n in checked:
        if not MIN_FRAMES <= n <= MAX_FRAMES:
            raise ValueError(f"length {n} frames is outside [{MIN_FRAMES}, {MAX_FRAMES}]")
    return checked


class MotionGenerator:
    """Generates motions from prompts with a base or an unlearned denoiser (any family)."""

    def __init__(
        self,
        vae: torch.nn.Module,
        denoiser: torch.nn.Module,
        schedule: NoiseSchedule,
        stats: dict[str, torch.Tensor],
        text_encoder: Any,
        device: torch.device,
        info: dict[str, Any] | None = None,
        family: ModelFamily = BUNDLED,
    ) -> None:
        if vae.cfg.downsample != LATENT_REDUCTION:  # noise layout and lengths assume it
            raise ValueError(
                f"the VAE compresses time by {vae.cfg.downsample}; this pipeline runs VAEs with "
                f"downsample={LATENT_REDUCTION} only"
            )
        self.family = family  # the adapter: latent layout, network calls, defaults
        self.vae = vae.to(device).eval()
        self.denoiser = denoiser.to(device).eval()
        self.schedule = schedule.to(device)
        # feature_mean/feature_std (263,), latent_mean/latent_std (C,)
        self.stats = {k: v.to(device) for k, v in stats.items()}
        self.text_encoder = text_encoder
        self.device = device
        self.info = info or {}
        self.source: Path | None = None  # the checkpoint file (set by from_checkpoint)
        self._fingerprint: tuple[torch.nn.Module, str] | None = None  # (denoiser, its print)

    @property
    def sampler(self) -> SamplerPreset:
        """The family's default guidance scale and DDIM steps."""
        return self.family.sampler

    def fingerprint(self) -> str:
        """``esd.models.fingerprint.fingerprint`` of the denoiser, computed once per denoiser
        object (a loaded base is shared read-only; ``with_denoiser`` copies compute their own)."""
        cached = self._fingerprint
        if cached is None or cached[0] is not self.denoiser:
            cached = self._fingerprint = (self.denoiser, fingerprint(self.denoiser))
        return cached[1]

    # --- construction -------------------------------------------------------------------------

    @classmethod
    def from_checkpoint(
        cls,
        name: str = ck.BASE_MODEL_NAME,
        ckpt: str | Path | None = None,
        checkpoints_dir: str | Path = ck.DEFAULT_CHECKPOINTS_DIR,
        device: str | torch.device = "auto",
        text_encoder: Any = None,
        clip_path: str | Path | None = None,
    ) -> MotionGenerator:
        """Load model ``name``: a base model (this project's or a SALAD folder), or an ESD run
        whose base is then loaded too. ``text_encoder`` is used when it suits the model's family
        (MiniLM for the bundled family, CLIP for SALAD's), else the family's own is loaded;
        SALAD's CLIP comes from ``clip_path`` (default ``{checkpoints_dir}/clip-vit-base-patch32``).

        An ESD run is refused (``BaseMismatchError``, one line naming the run and both
        fingerprints) when the base found now is not the one it was trained from; a run
        checkpoint without a stored fingerprint (an old one) is put on its base unchecked.
        """
        device = pick_device(device)
        paths = ck.resolve_model(name, checkpoints_dir)
        file = ck.resolve_checkpoint(paths, ckpt)
        data = ck.load_raw(file)
        clip_dir = Path(clip_path) if clip_path else Path(checkpoints_dir) / CLIP_FOLDER
        if ck.is_salad_checkpoint(data):
            model = load_salad_model(paths.root, file)
            info = {"epoch": model.epoch, "salad_options": model.options}
            encoder = _text_encoder(SALAD, text_encoder, device, clip_dir)
            generator = cls(
                model.vae, model.denoiser, model.schedule, model.stats, encoder, device, info, SALAD
            )
        else:
            payload = ck.check_payload(data, file, kind=("base", "esd"))
            if payload["kind"] == "esd":
                base_ref = payload["base"]
                base = cls.from_checkpoint(
                    base_ref["name"], base_ref.get("ckpt"), checkpoints_dir, device,
                    text_encoder, clip_path,
                )  # fmt: skip
                check_base(name, base_ref, base.fingerprint, base.source or base_ref["name"])
                generator = base.with_denoiser(apply_denoiser_overlay(base.denoiser, payload))
            else:
                generator = _rebuild(cls, name, payload, device, text_encoder, clip_dir)
        generator.info["name"] = name
        generator.source = file
        return generator

    @classmethod
    def from_payload(
        cls,
        payload: dict[str, Any],
        device: torch.device,
        text_encoder: Any = None,
        clip_path: str | Path | None = None,
    ) -> MotionGenerator:
        """Rebuild from a base-model checkpoint dict (``to_payload``; ``pretrain`` for its keys).

        ``clip_path``: SALAD's CLIP folder (needed for a SALAD payload without ``text_encoder``).
        """
        family = FAMILIES.get(payload.get("family", "bundled"))
        if family is None:
            raise ck.CheckpointError(f"unknown model family {payload.get('family')!r}")
        vae, denoiser = family.build(payload["vae_config"], payload["denoiser_config"])
        vae.load_state_dict(_to_float(payload["vae"]))
        denoiser.load_state_dict(_to_float(payload["denoiser"]))
        schedule = NoiseSchedule(**payload.get("schedule", {}))
        stats = {k: payload[k].float() for k in STAT_KEYS}
        clip_dir = Path(clip_path) if clip_path else None
        encoder = _text_encoder(family, text_encoder, device, clip_dir)
        info = {k: payload.get(k) for k in BASE_INFO_KEYS}
        if "salad_options" in payload:  # a SALAD model's opt.txt, to write it back as SALAD's
            info["salad_options"] = payload["salad_options"]
        return cls(vae, denoiser, schedule, stats, encoder, device, info, family)

    def to_payload(self, half: bool = False) -> dict[str, Any]:
        """The base-model checkpoint dict (``half``: fp16 weights, to keep bundled files small)."""

        def weights(module: torch.nn.Module) -> dict[str, torch.Tensor]:
            state = {k: v.detach().cpu() for k, v in module.state_dict().items()}
            return {k: v.half() if half and v.is_floating_point() else v for k, v in state.items()}

        return {
            "kind": "base",
            "family": self.family.name,
            "vae": weights(self.vae),
            "vae_config": asdict(self.vae.cfg),
            "denoiser": weights(self.denoiser),
            "denoiser_config": asdict(self.denoiser.cfg),
            "schedule": self.schedule.config(),
            **{k: v.cpu() for k, v in self.stats.items()},
            **{k: v for k, v in self.info.items() if v is not None and k != "name"},
        }

    def with_denoiser(self, denoiser: torch.nn.Module) -> MotionGenerator:
        """A generator sharing this one's VAE, text encoder and statistics, another denoiser."""
        clone = copy.copy(self)
        clone.denoiser = denoiser.to(self.device).eval()
        return clone

    # --- sampling -----------------------------------------------------------------------------

    def latent_mask(self, lengths: Sequence[int]) -> torch.Tensor:
        """(B, N) bool: latent token n of item b is valid when n < ceil(length_b / 4)."""
        tokens = self.family.latent_lengths(lengths)  # (B,)
        steps = torch.arange(int(tokens.max()))
        return (steps[None] < tokens[:, None]).to(self.device)

    def initial_noise(self, count: int, num_tokens: int, seed: int) -> torch.Tensor:
        """(B, N, C) standard normal noise; item i from a generator seeded ``seed + i``."""
        channels = self.family.latent_channels(self.denoiser)
        noise = [
            torch.randn(
                MAX_LATENT_TOKENS, channels, generator=torch.Generator().manual_seed(seed + i)
            )
            for i in range(count)
        ]
        return torch.stack(noise)[:, :num_tokens].to(self.device)

    def denoise_fn(
        self, latent_mask: torch.Tensor, denoiser: torch.nn.Module | None = None
    ) -> Callable[[torch.Tensor, torch.Tensor, TextBatch], torch.Tensor]:
        """The model function of the sampler: (x_t, t, text) -> v, with the latent mask bound.

        ``denoiser``: this generator's (default) or a copy of it (ESD's teacher and student).
        A mask of batch B is repeated to match a batched cond+uncond call of size 2B. On CUDA
        the denoiser runs under bf16 autocast (v returned in float32).
        """
        model = denoiser or self.denoiser

        def fn(x_t: torch.Tensor, t: torch.Tensor, text: TextBatch) -> torch.Tensor:
            mask = latent_mask.repeat(x_t.shape[0] // latent_mask.shape[0], 1)  # (B', N)
            with autocast(self.device):
                return self.family.predict(model, x_t, t, text, mask).float()

        return fn

    def encode_prompts(self, prompts: Sequence[str]) -> tuple[TextBatch, TextBatch]:
        """Conditional and null text batches for ``prompts``."""
        cond = self.text_encoder.encode(list(prompts)).to(self.device)
        uncond = self.text_encoder.encode([""] * len(prompts)).to(self.device)
        return cond, uncond

    @torch.no_grad()
    def sample_latents(
        self,
        prompts: Sequence[str],
        lengths: Sequence[int],
        seed: int = 0,
        num_steps: int | None = None,
        guidance_scale: float | None = None,
        callback: Callable[[DDIMStep], None] | None = None,
        denoiser: torch.nn.Module | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised latents z_0 (B, N, C) and the latent mask (B, N).

        ``num_steps`` / ``guidance_scale`` None: the family's defaults (``sampler``). Latents
        are multiplied by the mask after every step (SALAD's sampler; no effect on the valid
        tokens of the bundled denoiser, which ignores padding).
        """
        mask = self.latent_mask(lengths)
        x_t = self.initial_noise(len(prompts), mask.shape[1], seed)
        cond, uncond = self.encode_prompts(prompts)
        z0 = ddim_sample(
            self.denoise_fn(mask, denoiser),
            x_t,
            self.schedule,
            num_steps=self.sampler.steps if num_steps is None else num_steps,
            guidance_scale=self.sampler.guidance if guidance_scale is None else guidance_scale,
            cond=cond,
            uncond=uncond,
            mask=mask,
            callback=callback,
        )
        return z0 * mask[..., None], mask

    @torch.no_grad()
    def decode(self, latents: torch.Tensor, lengths: Sequence[int]) -> tuple[np.ndarray, ...]:
        """Normalised latents (B, N, C) -> features (B, T_max, 263) and joints (B, T_max, 22, 3)."""
        z = latents * self.stats["latent_std"] + self.stats["latent_mean"]
        tokens = self.family.latent_lengths(lengths).to(self.device)  # (B,)
        normalised = self.family.decode(self.vae, z, tokens)  # (B, 4N, 263)
        features = normalised * self.stats["feature_std"] + self.stats["feature_mean"]
        features = features[:, : max(lengths)].float()
        joints = features_to_joints(features)  # (B, T_max, 22, 3)
        return features.cpu().numpy(), joints.cpu().numpy()

    @torch.no_grad()
    def encode_features(self, clips: Sequence[np.ndarray]) -> list[torch.Tensor]:
        """Raw 263-d clips (T_i, 263) -> normalised latents (ceil(T_i / 4), C) on the CPU.

        The VAE's posterior means, normalised like the denoiser's latents (the inverse of the
        first line of ``decode``).
        """
        mean = self.stats["feature_mean"].cpu().numpy()
        std = self.stats["feature_std"].cpu().numpy()
        normalised = [((np.asarray(c) - mean) / std).astype(np.float32) for c in clips]
        latents = self.family.encode(self.vae, normalised, self.device)
        lat_mean, lat_std = self.stats["latent_mean"].cpu(), self.stats["latent_std"].cpu()
        return [(z - lat_mean) / lat_std for z in latents]

    def generate(
        self,
        prompts: Sequence[str],
        lengths: Sequence[int] | None = None,
        seconds: float | Sequence[float] | None = None,
        seed: int = 0,
        num_steps: int | None = None,
        guidance_scale: float | None = None,
        callback: Callable[[DDIMStep], None] | None = None,
        plant_feet: bool = False,
    ) -> GeneratedMotion:
        """Motions for ``prompts`` with ``lengths`` (frames) or ``seconds`` (one or per prompt);
        ``num_steps`` / ``guidance_scale`` None: the family's defaults. ``plant_feet``: hold
        feet on the floor still by correcting each clip's root translation
        (``esd.motion.foot_plant``; a post-process, off when the model itself is measured)."""
        prompts = [str(p) for p in prompts]
        if not prompts:
            raise ValueError("give at least one prompt")
        if lengths is None:
            frames = frames_from_seconds(6.0 if seconds is None else seconds)
            lengths = frames * len(prompts) if len(frames) == 1 else frames
        lengths = _check_lengths(lengths)
        if len(lengths) != len(prompts):
            raise ValueError(f"{len(prompts)} prompts but {len(lengths)} lengths")
        latents, _ = self.sample_latents(
            prompts, lengths, seed, num_steps, guidance_scale, callback
        )
        features, joints = self.decode(latents, lengths)
        motion = GeneratedMotion(prompts, joints, features, np.asarray(lengths))
        return motion.planted() if plant_feet else motion


STAT_KEYS = ("feature_mean", "feature_std", "latent_mean", "latent_std")


def _to_float(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Bundled weights may be stored in fp16 to stay small; compute in fp32."""
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def _text_encoder(
    family: ModelFamily, given: Any, device: torch.device, clip_dir: Path | None
) -> Any:
    """``given`` if it suits ``family``, else the family's shared encoder on ``device``."""
    if given is not None and family.is_text_encoder(given):
        return given
    if family is BUNDLED:
        return shared_text_encoder(device)
    if clip_dir is None:
        raise ck.CheckpointError(
            "a SALAD model needs its CLIP text encoder: pass clip_path=<the local "
            f"{CLIP_FOLDER} folder> (or a ClipTextEncoder)"
        )
    try:
        return shared_clip_encoder(clip_dir, device)
    except FileNotFoundError as err:
        raise ck.CheckpointError(str(err)) from None


def _rebuild(
    cls: type[MotionGenerator],
    name: str,
    payload: dict[str, Any],
    device: torch.device,
    text_encoder: Any,
    clip_dir: Path,
) -> MotionGenerator:
    """``cls.from_payload`` with a foreign architecture reported as one CheckpointError line."""
    try:
        return cls.from_payload(payload, device, text_encoder, clip_dir)
    except ARCHITECTURE_ERRORS as err:
        first = (str(err).strip().splitlines() or [""])[0][:200]
        raise ck.CheckpointError(
            f"{name}: the checkpoint does not fit this project's model architecture "
            f"({type(err).__name__}: {first})"
        ) from None


def apply_denoiser_overlay(denoiser: torch.nn.Module, payload: dict[str, Any]) -> torch.nn.Module:
    """Copy of ``denoiser`` with the parameters stored in an ESD checkpoint written over it.

    ESD checkpoints store only the parameters they trained (``payload["denoiser"]``); every key
    must exist in the base denoiser, so a checkpoint of another architecture is refused.
    """
    state = payload["denoiser"]
    own = denoiser.state_dict()
    unknown = [k for k in state if k not in own]
    mismatched = [k for k in state if k in own and own[k].shape != state[k].shape]
    if unknown or mismatched:
        raise ck.CheckpointError(
            "the ESD checkpoint does not fit its base model's denoiser "
            f"(unknown keys: {unknown[:3]}, shape mismatches: {mismatched[:3]})"
        )
    result = copy.deepcopy(denoiser)
    result.load_state_dict({**own, **_to_float(state)})
    return result.eval()
