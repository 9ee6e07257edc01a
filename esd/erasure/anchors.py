"""Automatic anchors: preserve the concepts an erasure is most likely to take with it.

ESD-x edits the denoiser's cross-attention, the only place text enters it, so the prompts an
edit moves most besides the target are those whose token states look most like the target's.
``ESDConfig.auto_anchors = k`` adds the canonical prompts of the k vocabulary concepts
(``esd.motion.concepts``) nearest the targets under the base model's own text encoder to the
run's anchors, where the preservation term keeps the student equal to the teacher
(``esd.erasure.objective.preservation_loss``). On the bundled model "a person kicking" gets
"a person punching" first (cosine 0.61), the concept that stronger plain erasures of kicking
(eta 4; eta 2.5 for 150 iterations) took 11 points from.

Concepts the targets name themselves are never anchored: that would preserve what is erased. A
target names a concept when it uses the verb of the concept's prompt ("someone does a roundhouse
kick" names kick) or every keyword of one of its descriptions ("a person jogging" names run,
"a person takes a seat" sit down).

Measured with the bundled MiniLM encoder only. On a SALAD base the CLIP's states choose
(``tests/test_salad_train_cli.py`` runs it with the fixture's tiny CLIP); what the released CLIP
chooses (its first token's state is the same for every prompt, so cosines run higher) has not
been measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import torch

from esd.erasure.config import AUTO_ANCHOR_WEIGHT, ESDConfig
from esd.motion.concepts import CONCEPTS, Concept
from esd.motion.keywords import caption_stems, target_keywords

if TYPE_CHECKING:  # only for the annotation: the generator is passed in
    from esd.models.generator import MotionGenerator
    from esd.models.text.batch import TextBatch


def pooled_states(batch: TextBatch) -> torch.Tensor:
    """Unit-length mean of each prompt's real token states.

    e_i = normalise( sum_l m_il s_il / sum_l m_il ),  s: (B, L, D), m: (B, L) -> e: (B, D).
    """
    mask = batch.mask.unsqueeze(-1).to(batch.states.dtype)  # (B, L, 1)
    mean = (batch.states * mask).sum(1) / mask.sum(1).clamp_min(1.0)  # (B, D)
    return torch.nn.functional.normalize(mean, dim=-1)


def nearest(targets: torch.Tensor, candidates: torch.Tensor, k: int) -> list[int]:
    """Indices of the ``k`` candidates most similar to any target, most similar first.

    score_j = max_i <t_i, c_j> (unit vectors: cosine);  targets (N, D), candidates (M, D).
    Ties keep the candidates' order. ``k`` larger than M gives all M.
    """
    scores = (targets @ candidates.T).amax(dim=0)  # (M,)
    order = sorted(range(len(scores)), key=lambda j: (-float(scores[j]), j))
    return order[: max(0, k)]


def named_concepts(prompts: Sequence[str]) -> set[str]:
    """Names of the vocabulary concepts the prompts name: the verb of the concept's prompt
    ("kicks" -> {"kick"}), or all keywords of one of its descriptions ("jogging" -> {"run"})."""
    words = set().union(*(caption_stems(p) for p in prompts)) if prompts else set()
    return {c.name for c in CONCEPTS if _names(c, words)}


def _names(concept: Concept, words: set[str]) -> bool:
    if target_keywords(concept.prompt)[0] in words:
        return True
    return any(set(target_keywords(d)) <= words for d in concept.descriptions)


def anchor_candidates(cfg: ESDConfig) -> list[Concept]:
    """Vocabulary concepts that may be anchored: not named by, nor equal to, an erased prompt."""
    own = named_concepts(cfg.prompts)
    erased = set(cfg.prompts)
    return [c for c in CONCEPTS if c.name not in own and c.prompt not in erased]


def resolve_anchors(base: MotionGenerator, cfg: ESDConfig) -> ESDConfig:
    """``cfg`` with the prompts of the ``auto_anchors`` concepts nearest its erased prompts
    (concepts and variants) appended to ``anchors``.

    The given anchors come first and nothing is repeated, so resolving twice changes nothing;
    ``preservation_weight`` 0 becomes ``AUTO_ANCHOR_WEIGHT`` (it then also weighs anchors the
    user gave). ``auto_anchors`` 0, or no concept left to anchor: ``cfg``.
    """
    if cfg.auto_anchors <= 0:
        return cfg
    candidates = anchor_candidates(cfg)
    if not candidates:
        return cfg
    with torch.no_grad():
        targets = pooled_states(base.text_encoder.encode(list(cfg.prompts)))  # (N, D)
        pool = pooled_states(base.text_encoder.encode([c.prompt for c in candidates]))  # (M, D)
    chosen = [candidates[j].prompt for j in nearest(targets, pool, cfg.auto_anchors)]
    weight = cfg.preservation_weight or AUTO_ANCHOR_WEIGHT
    anchors = tuple(dict.fromkeys((*cfg.anchors, *chosen)))
    return replace(cfg, anchors=anchors, preservation_weight=weight)
