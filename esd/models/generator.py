"""MotionGenerator: text encoder + VAE + latent denoiser + noise schedule -> motions from prompts.

    prompts, lengths --text encoder--> TextBatch
    noise z_T (B, N, C), N = ceil(T/4) --DDIM + classifier-free guidance--> z_0
    z_0 * latent_std + latent_mean --VAE decode--> normalised features (B, 4N, 263)
    * std + mean --> features (B, T, 263) --ric decoder--> joints (B, T, 22, 3)

Reproducibility: item i of a call with ``seed`` starts from noise drawn by
``torch.Generator().manual_seed(seed + i)`` for the longest supported clip and cropped to its
length, so the same (seed, index) gives the same motion whatever else is in the batch, and two
models compared with one seed see identical noise.
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
from esd.models.bundled.denoiser import DenoiserConfig, LatentDenoiser
from esd.models.bundled.vae import LATENT_REDUCTION, MotionVAE, VAEConfig, encode_latents
from esd.models.diffusion import DDIMStep, NoiseSchedule, ddim_sample
from esd.models.text.batch import TextBatch
from esd.models.text.minilm import TextEncoder
from esd.motion.features import features_to_joints
from esd.motion.skeleton import FPS, MAX_FRAMES, MAX_SECONDS, MIN_FRAMES, MIN_SECONDS

# A checkpoint of another architecture fails inside the model constructors with these.
ARCHITECTURE_ERRORS = (KeyError, TypeError, RuntimeError, AttributeError)

DEFAULT_GUIDANCE = 2.5  # classifier-free guidance scale used for sampling
DEFAULT_STEPS = 50  # DDIM steps
MAX_LATENT_TOKENS = math.ceil(MAX_FRAMES / LATENT_REDUCTION)

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
    """Generates motions from prompts with a base or an unlearned denoiser."""

    def __init__(
        self,
        vae: MotionVAE,
        denoiser: LatentDenoiser,
        schedule: NoiseSchedule,
        stats: dict[str, torch.Tensor],
        text_encoder: TextEncoder,
        device: torch.device,
        info: dict[str, Any] | None = None,
    ) -> None:
        if vae.cfg.downsample != LATENT_REDUCTION:  # noise layout and lengths assume it
            raise ValueError(
                f"the VAE compresses time by {vae.cfg.downsample}; this pipeline runs VAEs with "
                f"downsample={LATENT_REDUCTION} only"
            )
        self.vae = vae.to(device).eval()
        self.denoiser = denoiser.to(device).eval()
        self.schedule = schedule.to(device)
        # feature_mean/feature_std (263,), latent_mean/latent_std (C,)
        self.stats = {k: v.to(device) for k, v in stats.items()}
        self.text_encoder = text_encoder
        self.device = device
        self.info = info or {}

    # --- construction -------------------------------------------------------------------------

    @classmethod
    def from_checkpoint(
        cls,
        name: str = ck.BASE_MODEL_NAME,
        ckpt: str | Path | None = None,
        checkpoints_dir: str | Path = ck.DEFAULT_CHECKPOINTS_DIR,
        device: str | torch.device = "auto",
        text_encoder: TextEncoder | None = None,
    ) -> MotionGenerator:
        """Load model ``name`` (a base model, or an ESD run whose base is then loaded too)."""
        device = pick_device(device)
        paths = ck.resolve_model(name, checkpoints_dir)
        payload = ck.load_checkpoint(ck.resolve_checkpoint(paths, ckpt), kind=("base", "esd"))
        overlay = None
        if payload["kind"] == "esd":
            overlay = payload
            base_ref = payload["base"]
            base_paths = ck.resolve_model(base_ref["name"], checkpoints_dir)
            base_file = ck.resolve_checkpoint(base_paths, base_ref.get("ckpt"))
            payload = ck.load_checkpoint(base_file, kind="base")
        try:
            generator = cls.from_payload(payload, device, text_encoder)
        except ARCHITECTURE_ERRORS as err:
            first = (str(err).strip().splitlines() or [""])[0][:200]
            raise ck.CheckpointError(
                f"{name}: the checkpoint does not fit this project's model architecture "
                f"({type(err).__name__}: {first})"
            ) from None
        if overlay is not None:
            generator.denoiser = apply_denoiser_overlay(generator.denoiser, overlay)
        generator.info["name"] = name
        return generator

    @classmethod
    def from_payload(
        cls,
        payload: dict[str, Any],
        device: torch.device,
        text_encoder: TextEncoder | None = None,
    ) -> MotionGenerator:
        """Rebuild from a base-model checkpoint dict (see ``pretrain`` for its keys)."""
        vae = MotionVAE(VAEConfig(**payload["vae_config"]))
        vae.load_state_dict(_to_float(payload["vae"]))
        denoiser = LatentDenoiser(DenoiserConfig(**payload["denoiser_config"]))
        denoiser.load_state_dict(_to_float(payload["denoiser"]))
        schedule = NoiseSchedule(**payload.get("schedule", {}))
        stats = {k: payload[k].float() for k in STAT_KEYS}
        encoder = text_encoder or shared_text_encoder(device)
        info = {k: payload.get(k) for k in ("epoch", "total_iter", "metrics", "created")}
        return cls(vae, denoiser, schedule, stats, encoder, device, info)

    def to_payload(self, half: bool = False) -> dict[str, Any]:
        """The base-model checkpoint dict (``half``: fp16 weights, to keep bundled files small)."""

        def weights(module: torch.nn.Module) -> dict[str, torch.Tensor]:
            state = {k: v.detach().cpu() for k, v in module.state_dict().items()}
            return {k: v.half() if half and v.is_floating_point() else v for k, v in state.items()}

        return {
            "kind": "base",
            "vae": weights(self.vae),
            "vae_config": asdict(self.vae.cfg),
            "denoiser": weights(self.denoiser),
            "denoiser_config": asdict(self.denoiser.cfg),
            "schedule": self.schedule.config(),
            **{k: v.cpu() for k, v in self.stats.items()},
            **{k: v for k, v in self.info.items() if v is not None and k != "name"},
        }

    def with_denoiser(self, denoiser: LatentDenoiser) -> MotionGenerator:
        """A generator sharing this one's VAE, text encoder and statistics, another denoiser."""
        clone = copy.copy(self)
        clone.denoiser = denoiser.to(self.device).eval()
        return clone

    # --- sampling -----------------------------------------------------------------------------

    def latent_mask(self, lengths: Sequence[int]) -> torch.Tensor:
        """(B, N) bool: latent token n of item b is valid when n < ceil(length_b / 4)."""
        tokens = self.vae.latent_lengths(lengths)  # (B,)
        steps = torch.arange(int(tokens.max()))
        return (steps[None] < tokens[:, None]).to(self.device)

    def initial_noise(self, count: int, num_tokens: int, seed: int) -> torch.Tensor:
        """(B, N, C) standard normal noise; item i from a generator seeded ``seed + i``."""
        channels = self.denoiser.cfg.latent_dim
        noise = [
            torch.randn(
                MAX_LATENT_TOKENS, channels, generator=torch.Generator().manual_seed(seed + i)
            )
            for i in range(count)
        ]
        return torch.stack(noise)[:, :num_tokens].to(self.device)

    def denoise_fn(
        self, latent_mask: torch.Tensor, denoiser: LatentDenoiser | None = None
    ) -> Callable[[torch.Tensor, torch.Tensor, TextBatch], torch.Tensor]:
        """The model function of the sampler: (x_t, t, text) -> v, with the latent mask bound.

        A mask of batch B is repeated to match a batched cond+uncond call of size 2B.
        """
        model = denoiser or self.denoiser

        def fn(x_t: torch.Tensor, t: torch.Tensor, text: TextBatch) -> torch.Tensor:
            mask = latent_mask.repeat(x_t.shape[0] // latent_mask.shape[0], 1)  # (B', N)
            with autocast(self.device):
                return model(x_t, t, text, mask).float()

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
        num_steps: int = DEFAULT_STEPS,
        guidance_scale: float = DEFAULT_GUIDANCE,
        callback: Callable[[DDIMStep], None] | None = None,
        denoiser: LatentDenoiser | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised latents z_0 (B, N, C) and the latent mask (B, N)."""
        mask = self.latent_mask(lengths)
        x_t = self.initial_noise(len(prompts), mask.shape[1], seed)
        cond, uncond = self.encode_prompts(prompts)
        z0 = ddim_sample(
            self.denoise_fn(mask, denoiser),
            x_t,
            self.schedule,
            num_steps=num_steps,
            guidance_scale=guidance_scale,
            cond=cond,
            uncond=uncond,
            callback=callback,
        )
        return z0 * mask[..., None], mask

    @torch.no_grad()
    def decode(self, latents: torch.Tensor, lengths: Sequence[int]) -> tuple[np.ndarray, ...]:
        """Normalised latents (B, N, C) -> features (B, T_max, 263) and joints (B, T_max, 22, 3)."""
        z = latents * self.stats["latent_std"] + self.stats["latent_mean"]
        tokens = self.vae.latent_lengths(lengths).to(self.device)  # (B,)
        normalised = self.vae.decode(z, tokens)  # (B, 4N, 263)
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
        latents = encode_latents(self.vae, normalised, self.device)
        lat_mean, lat_std = self.stats["latent_mean"].cpu(), self.stats["latent_std"].cpu()
        return [(z - lat_mean) / lat_std for z in latents]

    def generate(
        self,
        prompts: Sequence[str],
        lengths: Sequence[int] | None = None,
        seconds: float | Sequence[float] | None = None,
        seed: int = 0,
        num_steps: int = DEFAULT_STEPS,
        guidance_scale: float = DEFAULT_GUIDANCE,
        callback: Callable[[DDIMStep], None] | None = None,
    ) -> GeneratedMotion:
        """Motions for ``prompts`` with ``lengths`` (frames) or ``seconds`` (one or per prompt)."""
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
        return GeneratedMotion(prompts, joints, features, np.asarray(lengths))


STAT_KEYS = ("feature_mean", "feature_std", "latent_mean", "latent_std")


def _to_float(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Bundled weights may be stored in fp16 to stay small; compute in fp32."""
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def apply_denoiser_overlay(denoiser: LatentDenoiser, payload: dict[str, Any]) -> LatentDenoiser:
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
