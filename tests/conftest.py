"""Shared pytest fixtures.

The official HumanML3D sample lives in ``../shared/fixtures/humanml3d`` beside the project root.
Tests that need it skip with a clear reason when it is absent (a newcomer's clone), and the run
ends with one summary line saying how many were skipped and why. In CI (``CI=true``, or
``ESD_REQUIRE_SHARED=1``) a missing fixture fails instead of silently skipping.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_ROOT = Path(os.environ.get("ESD_SHARED_DIR", PROJECT_ROOT.parent / "shared"))  # ../shared
SHARED_FIXTURES = SHARED_ROOT / "fixtures" / "humanml3d"
SALAD_FIXTURES = SHARED_ROOT / "fixtures" / "salad"


SHARED_ABSENT = "(../shared absent)"  # every shared-fixture skip reason ends with this


def _require(env_var: str) -> bool:
    return os.environ.get(env_var, "") not in ("", "0")


def shared_required() -> bool:
    """Must the shared fixtures be there? In CI (CI=true) and with ESD_REQUIRE_SHARED=1."""
    return _require("ESD_REQUIRE_SHARED") or os.environ.get("CI", "").lower() == "true"


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """One line for the tests skipped because ../shared is absent (instead of N lines of noise)."""
    skipped = [
        r for r in terminalreporter.stats.get("skipped", []) if SHARED_ABSENT in str(r.longrepr)
    ]
    if skipped:
        terminalreporter.write_line(
            f"{len(skipped)} tests skipped: the team's shared fixtures (../shared) are absent in "
            "this clone; CI provides them and runs these tests"
        )


@pytest.fixture(scope="session")
def humanml3d_fixture_dir() -> Path:
    """Folder with the official clip 012314 (joints, features) and the dataset Mean/Std."""
    if not (SHARED_FIXTURES / "012314_vecs.npy").is_file():
        reason = f"official HumanML3D fixture not found at {SHARED_FIXTURES} {SHARED_ABSENT}"
        if shared_required():
            pytest.fail(reason + "; in CI (or with ESD_REQUIRE_SHARED=1) this is an error")
        pytest.skip(reason)
    return SHARED_FIXTURES


@pytest.fixture(scope="session")
def salad_fixture_dir() -> Path:
    """SALAD's conformance fixtures: checkpoints/, clip_tiny/, reference/, manifests/."""
    if not (SALAD_FIXTURES / "reference" / "ddim_cfg_sampling.npz").is_file():
        reason = f"SALAD conformance fixtures not found at {SALAD_FIXTURES} {SHARED_ABSENT}"
        if shared_required():
            pytest.fail(reason + "; in CI (or with ESD_REQUIRE_SHARED=1) this is an error")
        pytest.skip(reason)
    return SALAD_FIXTURES


@pytest.fixture(scope="session")
def salad_text_encoder(salad_fixture_dir: Path):
    """A CLIP encoder standing in with SALAD's reference token states (B, 77, 512) for the four
    reference captions (the fixture denoiser was run on these states, not on CLIP weights)."""
    from esd.models.text.batch import TextBatch
    from esd.models.text.clip import ClipTextEncoder

    ref = np.load(salad_fixture_dir / "reference" / "clip_token_states.npz")
    captions = [str(c) for c in ref["captions"]]

    class ReferenceStates(ClipTextEncoder):
        def encode(self, prompts):
            rows = [captions.index(p) for p in prompts]
            states = torch.from_numpy(ref["states"][rows])
            mask = torch.from_numpy(ref["attention_mask"][rows])
            return TextBatch(states * mask[..., None], mask).to(self.device)

    return ReferenceStates(salad_fixture_dir / "clip_tiny" / "clip-vit-base-patch32")


@pytest.fixture(scope="session")
def official_sample(humanml3d_fixture_dir: Path) -> dict[str, np.ndarray]:
    """The official arrays: joints (170, 22, 3), features (170, 263), mean (263,), std (263,)."""
    d = humanml3d_fixture_dir
    return {
        "joints": np.load(d / "012314_joints.npy"),
        "features": np.load(d / "012314_vecs.npy"),
        "mean": np.load(d / "Mean.npy"),
        "std": np.load(d / "Std.npy"),
    }


@pytest.fixture(scope="session")
def text_encoder():
    """One real all-MiniLM-L6-v2 encoder for the whole test session (loads in a few seconds)."""
    from esd.models.text.minilm import TextEncoder

    return TextEncoder()
