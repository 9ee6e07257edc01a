"""Plausible mutants of the project's core maths, and whether the oracle tests kill them.

Each mutant is a text replacement in one file of a temporary COPY of the project (``esd/``,
``tests/``, ``pyproject.toml``; ``assets/`` linked), whose old text must occur exactly once. The
mutant is KILLED when its tests fail on the copy and SURVIVED when they pass; each line says
which of its tests fail. The baseline (no mutation) must pass first. Some mutants also run the
tests that were there before the oracle tests ("before: ..."), to show what those let live.

Families: ``erasure`` (ESD target, esd_loss, x_t sources, balanced batches, resume) and
``models`` (DDIM, v/eps, schedules, SALAD's networks; those tests need ``../shared``).

Usage:
    python benchmarks/mutants.py                    # every mutant
    python benchmarks/mutants.py --family erasure   # one family
    python benchmarks/mutants.py --list
    python benchmarks/mutants.py --ref HEAD         # the last commit, not the working tree
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@dataclass(frozen=True)
class Mutant:
    """One text replacement and the tests that must kill it."""

    family: str  # "erasure" or "models"
    name: str
    file: str  # path in the project
    old: str  # text that occurs exactly once in the file
    new: str  # its replacement
    tests: tuple[str, ...]  # pytest node ids that must fail
    before: tuple[str, ...] = ()  # earlier tests, run to show whether they let the mutant live


# --- erasure ----------------------------------------------------------------------------------

OBJECTIVE = "esd/erasure/objective.py"
SOURCES = "esd/erasure/sources.py"
LOOP = "esd/erasure/loop.py"
T_OBJ = "tests/test_erasure_objective.py"
T_SRC = "tests/test_erasure_sources.py"
DIRECTION = f"{T_OBJ}::test_training_moves_the_prediction_against_the_concept_direction"
TARGET = f"{T_OBJ}::test_target_points_away_from_the_concept_by_eta"
LOSS = f"{T_OBJ}::test_esd_loss_equals_an_independent_computation"
TEACHER_PATH = f"{T_SRC}::test_teacher_source_x_t_lies_on_the_teacher_path_at_its_own_timestep"
POOL_PREDS = "tests/test_erase.py::test_pool_holds_exact_teacher_predictions"
SHARES = f"{T_SRC}::test_shares_sum_to_the_batch_and_even_out"
RESUME = "tests/test_erasure_resume.py::test_k_steps_plus_a_resume_equal_n_steps_bitwise"
OLD_ERASE = ("tests/test_erase.py",)  # the fast erase tests before the oracle tests

ERASURE = [
    Mutant("erasure", "ESD target strengthens the concept: c - eta (u - c)", OBJECTIVE,
           "classifier_free_guidance(pred_uncond, pred_cond, -negative_guidance)",
           "classifier_free_guidance(pred_cond, pred_uncond, -negative_guidance)",
           (TARGET, DIRECTION), OLD_ERASE),
    Mutant("erasure", "ESD target with +eta (guides towards the concept)", OBJECTIVE,
           "classifier_free_guidance(pred_uncond, pred_cond, -negative_guidance)",
           "classifier_free_guidance(pred_uncond, pred_cond, negative_guidance)",
           (TARGET, DIRECTION)),
    Mutant("erasure", "esd_loss with the teacher's predictions swapped", OBJECTIVE,
           "esd_target(batch.pred_uncond, batch.pred_cond, eta)",
           "esd_target(batch.pred_cond, batch.pred_uncond, eta)", (LOSS, DIRECTION), OLD_ERASE),
    Mutant("erasure", "esd_loss counts padding tokens", OBJECTIVE,
           "return (per_token * mask).sum() / mask.sum().clamp_min(1)",
           "return per_token.mean()", (LOSS,), OLD_ERASE),
    Mutant("erasure", "esd_loss sums the channels instead of averaging", OBJECTIVE,
           "((pred.float() - target.float()) ** 2).mean(-1)",
           "((pred.float() - target.float()) ** 2).sum(-1)", (LOSS,), OLD_ERASE),
    Mutant("erasure", "pool: x_t paired with the next step's timestep", SOURCES,
           "            self.t[step],\n", "            self.t[(step + 1) % steps],\n",
           (POOL_PREDS, TEACHER_PATH)),
    Mutant("erasure", "teacher source: records steps 0..k, rows take the wrong step index",
           SOURCES, "lengths, cfg, seed, k, k\n", "lengths, cfg, seed, k, 0\n",
           (TEACHER_PATH,), OLD_ERASE),
    Mutant("erasure", "pool: x_t from one step before its timestep", SOURCES,
           "        records.append(step)\n",
           "        records.append(replace(step, x_t=records[-1].x_t if records else step.x_t))\n",
           (POOL_PREDS,)),
    Mutant("erasure", "balanced batches: the remainder always goes to the first prompts",
           "esd/erasure/batching.py", "return [base + int((g - step) % groups < extra)",
           "return [base + int(g < extra)", (SHARES,)),
    Mutant("erasure", "resume: the optimizer state is not restored", "esd/erasure/checkpointing.py",
           '    optimizer.load_state_dict(state["optimizer"])\n', "", (RESUME,), OLD_ERASE),
    Mutant("erasure", "resume: batches restart from the first one", LOOP,
           "_train_step(base, student, optimizer, source, anchors, cfg, step)",
           "_train_step(base, student, optimizer, source, anchors, cfg, step - first)",
           (RESUME,), OLD_ERASE),
    Mutant("erasure", "resume: the loss history restarts", LOOP,
           "history = LossHistory.from_state(state) if state else LossHistory()",
           "history = LossHistory()", (RESUME,), OLD_ERASE),
]  # fmt: skip

# --- models (diffusion maths, SALAD's networks) -----------------------------------------------

SAMPLING = "esd/models/diffusion/sampling.py"
SCHEDULE = "esd/models/diffusion/schedule.py"
ONE_POINT = (
    "tests/test_diffusion.py::test_exact_denoiser_for_one_point_keeps_eps_along_the_whole_path"
)
OLD_ONE_POINT = "tests/test_old_one_point.py"  # written into the copy: the test as it was
VEPS = "tests/test_diffusion.py::test_v_and_eps_distances_differ_by_one_plus_inverse_snr"
ROUND_TRIP = "tests/test_diffusion.py::test_parameterisations_round_trip"
SALAD_ARRAYS = "tests/test_diffusion.py::test_scaled_linear_and_leading_equal_salads_arrays_bitwise"
TEXT2MOTION = "tests/test_salad_sampling.py::test_text2motion_path_matches_every_step"
EVALUATION = "tests/test_salad_sampling.py::test_evaluation_path_matches"
FORWARD = "tests/test_salad_denoiser.py::test_forward_matches_salad"
CLIP_STATES = "tests/test_clip.py::test_states_and_mask_match_salad"
VAE_DEC = "tests/test_salad_vae.py::test_decoder_matches_salad"

OLD_ONE_POINT_TEST = '''
import torch
from esd.models import diffusion as D
from esd.models.text.batch import TextBatch

SCHEDULE = D.NoiseSchedule()


def test_exact_denoiser_for_one_point_lands_on_it() -> None:
    """The test as it was: only the end point is checked."""
    g = torch.Generator().manual_seed(7)
    target = torch.randn(1, 5, 4, generator=g).expand(3, 5, 4)
    cond = TextBatch(torch.zeros(3, 1, 4), torch.ones(3, 1, dtype=torch.bool))

    def exact(x, t, text):
        a, s = SCHEDULE.alpha(t, x), SCHEDULE.sigma(t, x)
        return (a * x - target) / s

    x_T = torch.randn(3, 5, 4, generator=torch.Generator().manual_seed(8))
    out = D.ddim_sample(exact, x_T, SCHEDULE, guidance_scale=1.0, cond=cond)
    assert torch.allclose(out, target, atol=1e-4)
'''

MODELS = [
    Mutant("models", "ddim_update returns x0 (x_prev = x0)", SAMPLING,
           "return alpha_prev * x0 + sigma_prev * eps", "return x0 + 0 * alpha_prev * sigma_prev",
           (ONE_POINT,), (OLD_ONE_POINT,)),
    Mutant("models", "ddim_update with alpha_prev and sigma_prev swapped", SAMPLING,
           "return alpha_prev * x0 + sigma_prev * eps", "return sigma_prev * x0 + alpha_prev * eps",
           (ONE_POINT,)),
    Mutant("models", "prev coefficients taken at t instead of t_prev", SAMPLING,
           "t_prev = timesteps[i + 1 : i + 2]  # (1,)", "t_prev = timesteps[i : i + 1]  # (1,)",
           (ONE_POINT,)),
    Mutant("models", "eps_from_v with alpha and sigma swapped", SCHEDULE,
           "return schedule.sigma(t, x_t) * x_t + schedule.alpha(t, x_t) * v",
           "return schedule.alpha(t, x_t) * x_t + schedule.sigma(t, x_t) * v",
           (VEPS, ROUND_TRIP)),
    Mutant("models", "eps_from_v with a minus sign", SCHEDULE,
           "return schedule.sigma(t, x_t) * x_t + schedule.alpha(t, x_t) * v",
           "return schedule.sigma(t, x_t) * x_t - schedule.alpha(t, x_t) * v",
           (VEPS, ROUND_TRIP)),
    Mutant("models", "scaled-linear betas in float64, rounded", SCHEDULE,
           "num_steps, dtype=torch.float32)\n    return roots**2",
           "num_steps, dtype=torch.float64)\n    return (roots**2).float()", (SALAD_ARRAYS,)),
    Mutant("models", "linear instead of scaled-linear betas", SCHEDULE,
           "    return roots**2",
           "    return torch.linspace(beta_start, beta_end, num_steps, dtype=torch.float32)",
           (SALAD_ARRAYS,)),
    Mutant("models", "leading timesteps with offset 1", SAMPLING,
           "return torch.arange(num_steps - 1, -1, -1) * (num_train_steps // num_steps)",
           "return torch.arange(num_steps - 1, -1, -1) * (num_train_steps // num_steps) + 1",
           (SALAD_ARRAYS,)),
    Mutant("models", "final alpha_bar_prev = alpha_bar_0 instead of 1", SAMPLING,
           "    return one, torch.zeros_like(one)",
           "    t0 = timesteps[-1:] * 0\n"
           "    return schedule.alpha(t0, like), schedule.sigma(t0, like)",
           (TEXT2MOTION,)),
    Mutant("models", "CFG with the branches swapped", SAMPLING,
           "pred = classifier_free_guidance(pred_uncond, pred_cond, guidance_scale)",
           "pred = classifier_free_guidance(pred_cond, pred_uncond, guidance_scale)",
           (TEXT2MOTION,)),
    Mutant("models", "no length mask after each step", SAMPLING,
           "            x = x * keep\n", "            pass\n", (EVALUATION,)),
    Mutant("models", "SALAD latents flattened in another memory order",
           "esd/models/salad/family.py",
           "x = x_t.reshape(*x_t.shape[:2], cfg.num_parts, cfg.latent_dim)  # (B, N, 7, 32)",
           "x = x_t.reshape(*x_t.shape[:2], cfg.latent_dim, cfg.num_parts).transpose(-1, -2)",
           (TEXT2MOTION,)),
    Mutant("models", "FiLM with (shift, scale) instead of (scale, shift)",
           "esd/models/salad/layers.py", "scale, shift = self.linear(c)",
           "shift, scale = self.linear(c)", (FORWARD,)),
    Mutant("models", "timestep sinusoid ordered [sin, cos]", "esd/models/salad/denoiser.py",
           "torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)",
           "torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)", (FORWARD,)),
    Mutant("models", "CLIP run with the tokenizer's attention mask", "esd/models/text/clip.py",
           "states = self._model(input_ids=ids.to(self.device)).last_hidden_state",
           "states = self._model(input_ids=ids.to(self.device), attention_mask=mask.long()"
           ".to(self.device)).last_hidden_state", (CLIP_STATES,)),
    Mutant("models", "STUnpool normalised like STPool", "esd/models/salad/vae.py",
           "spread = torch.matmul(self.skeleton_unpool, x)",
           "spread = torch.matmul(self.skeleton_unpool / self.skeleton_unpool.sum(1, keepdim=True)"
           ", x)", (VAE_DEC,)),
]  # fmt: skip

MUTANTS = ERASURE + MODELS


def copy_project(target: Path, ref: str | None = None) -> None:
    """esd/, tests/ and pyproject.toml copied (from the working tree, or from the commit ``ref``
    through ``git archive``); assets/ linked; the old one-point test added."""
    if ref is None:
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        for name in ("esd", "tests"):
            shutil.copytree(REPO / name, target / name, ignore=ignore)
        shutil.copy(REPO / "pyproject.toml", target / "pyproject.toml")
    else:
        target.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", ref, "esd", "tests", "pyproject.toml"],
            capture_output=True, check=True,
        )  # fmt: skip
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    (target / "assets").symlink_to(REPO / "assets")
    (target / OLD_ONE_POINT).write_text(OLD_ONE_POINT_TEST)


def run_tests(root: Path, tests: tuple[str, ...]) -> tuple[bool, str, set[str]]:
    """(passed, pytest's last line, the ``tests`` that failed or errored) run in ``root``."""
    env = {**os.environ, "ESD_SHARED_DIR": str(SHARED), "ESD_REQUIRE_SHARED": "1"}
    cmd = [sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider", *tests]
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
    lines = proc.stdout.strip().splitlines() or ["?"]
    failed = {line.split()[1] for line in lines if line.startswith(("FAILED ", "ERROR "))}
    hit = {t for t in tests if any(f == t or f.startswith((f"{t}[", f"{t}::")) for f in failed)}
    return proc.returncode == 0, lines[-1], hit


def stale(root: Path, mutants: list[Mutant]) -> list[str]:
    """Mutants whose old text is not exactly once in their file under ``root`` (checked before
    any test runs: the code moves)."""
    out = []
    for m in mutants:
        path = root / m.file
        count = path.read_text().count(m.old) if path.is_file() else 0
        if count != 1:
            out.append(f"{m.name}: the old text occurs {count} times in {m.file}")
    return out


def mutate(root: Path, mutant: Mutant) -> None:
    path = root / mutant.file
    text = path.read_text()
    if text.count(mutant.old) != 1:
        raise SystemExit(f"{mutant.name}: the old text is not in {mutant.file} exactly once")
    path.write_text(text.replace(mutant.old, mutant.new))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--family", choices=["erasure", "models"], help="only this family")
    p.add_argument("--list", action="store_true", help="list the mutants and exit")
    p.add_argument("--ref", help="mutate this commit (e.g. HEAD; git archive) instead of the "
                   "working tree, which other edits may change during the run")  # fmt: skip
    args = p.parse_args()
    mutants = [m for m in MUTANTS if args.family in (None, m.family)]
    if args.list:
        for m in mutants:
            print(f"{m.family:8s} {m.name}  <- {', '.join(t.split('::')[-1] for t in m.tests)}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        copy_project(base, args.ref)
        problems = stale(base, mutants)
        if problems:
            print("stale mutants (fix their old text):\n  " + "\n  ".join(problems))
            return 2
        source = "the working tree"
        if args.ref:
            commit = subprocess.run(
                ["git", "-C", str(REPO), "rev-parse", "--short", args.ref],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            source = f"commit {args.ref} = {commit}"  # fmt: skip
        print(f"project: {source} of {REPO}", flush=True)
        everything = tuple(sorted({t for m in mutants for t in (*m.tests, *m.before)}))
        ok, last, _ = run_tests(base, everything)
        print(f"baseline (no mutant): {'PASS' if ok else 'FAIL'}  [{last}]", flush=True)
        if not ok:
            return 1
        survivors = 0
        for index, mutant in enumerate(mutants):
            root = Path(tmp) / f"m{index}"
            copy_project(root, args.ref)
            mutate(root, mutant)
            ok, _, hit = run_tests(root, mutant.tests)
            survivors += ok
            names = ", ".join(
                f"{t.split('::')[-1]} ({'fails' if t in hit else 'passes'})" for t in mutant.tests
            )
            print(
                f"{'SURVIVED' if ok else 'KILLED':8s} [{mutant.family}] {mutant.name}  <- {names}"
            )
            if mutant.before:
                before_ok, _, _ = run_tests(root, mutant.before)
                print(f"         (before: {', '.join(mutant.before)} "
                      f"{'passes: it lived' if before_ok else 'fails'})", flush=True)  # fmt: skip
            shutil.rmtree(root)
        print(f"{len(mutants) - survivors} of {len(mutants)} mutants killed")
        return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
