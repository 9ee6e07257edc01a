"""The evaluator's training into its run folder, and the reference set of the test split.

``checkpoints/t2m/t2m_evaluator/model/evaluator.tar`` (the contrastive evaluator) and
``reference_test.npz`` beside ``model/`` (the evaluation's reference set, where ``esd.evaluate``
looks for it). The reference set can be rebuilt alone (``trained_evaluator``, then
``build_reference``), after the corpus changed its held-out phrasings, say.
"""

from __future__ import annotations

import time
from dataclasses import asdict

import torch

from esd.evaluation.contrastive import EvaluatorBundle, EvaluatorConfig
from esd.evaluation.reference import ReferenceSet
from esd.models import checkpoints as ck
from esd.models.generator import shared_text_encoder
from esd.motion.humanml3d import MotionFolder
from esd.pretrain.evaluator import CaptionedClips, EvaluatorTrainConfig, train_evaluator
from esd.pretrain.folders import load_clips
from esd.pretrain.settings import (
    EVALUATOR_FILE,
    REFERENCE_FILE,
    Log,
    PretrainSettings,
    Progress,
    no_log,
    no_progress,
)


def train_evaluator_stage(
    run: ck.RunPaths,
    folder: MotionFolder,
    settings: PretrainSettings,
    device: torch.device,
    log: Log = no_log,
    progress: Progress = no_progress,
) -> EvaluatorBundle:
    """Train the evaluator on the train split, save it, then build its reference set."""
    train, captions = load_clips(folder, "train", settings.max_clips)
    encoder = shared_text_encoder(device)
    data = CaptionedClips(train, captions, encoder.sentence_embeddings)
    cfg = EvaluatorTrainConfig(steps=settings.evaluator_steps, seed=settings.seed)
    began = time.monotonic()
    bundle = train_evaluator(
        data,
        folder.mean,
        folder.std,
        EvaluatorConfig(),
        cfg,
        device,
        on_step=lambda s: progress("evaluator", s.step, cfg.steps, f"loss {s.loss:.4f}"),
    )
    minutes = (time.monotonic() - began) / 60
    bundle.info = {
        "steps": cfg.steps,
        "minutes": minutes,
        "data_root": str(settings.data_root),
        "seed": settings.seed,
        "config": asdict(cfg),
    }
    ck.save_checkpoint(bundle.to_payload(), run.model_dir / EVALUATOR_FILE)
    log(f"evaluator trained in {minutes:.1f} min")
    build_reference(run, folder, bundle, log)
    return bundle


def build_reference(
    run: ck.RunPaths, folder: MotionFolder, bundle: EvaluatorBundle, log: Log = no_log
) -> ReferenceSet:
    """The test split's reference set, beside model/ (where esd.evaluate looks for it)."""
    reference = ReferenceSet.build(folder, bundle, split="test")
    reference.save(run.root / REFERENCE_FILE)
    log(f"reference set of {len(reference)} test clips saved to {run.root / REFERENCE_FILE}")
    return reference


def finished_evaluator(run: ck.RunPaths, settings: PretrainSettings) -> EvaluatorBundle | None:
    """The evaluator ``run`` already holds when it was trained exactly as ``settings`` ask (same
    data folder, seed and step count) and its reference set was written, else None.

    ``--resume`` keeps such an evaluator instead of training it again (an evaluator run has no
    intermediate checkpoint, so an unfinished or different one is trained from the start).
    """
    if not ((run.model_dir / EVALUATOR_FILE).is_file() and (run.root / REFERENCE_FILE).is_file()):
        return None
    bundle = trained_evaluator(run)
    info = bundle.info or {}
    asked = {"steps": settings.evaluator_steps, "seed": settings.seed,
             "data_root": str(settings.data_root)}  # fmt: skip
    return bundle if all(info.get(key) == value for key, value in asked.items()) else None


def trained_evaluator(run: ck.RunPaths) -> EvaluatorBundle:
    """The evaluator saved in ``run``; ValueError saying how to train one when there is none."""
    path = run.model_dir / EVALUATOR_FILE
    if not path.is_file():
        raise ValueError(f"no trained evaluator at {path}; run `python -m esd.pretrain evaluator`")
    return EvaluatorBundle.from_payload(ck.load_checkpoint(path, kind="evaluator"))
