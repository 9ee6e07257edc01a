"""The test command on a newcomer's machine: shared fixtures absent -> skips and one summary line;
in CI (CI=true) the same absence is an error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST = "tests/test_features.py::test_encoder_reproduces_official_features"


def run_without_shared(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("CI", "ESD_REQUIRE_SHARED")}
    clean.update(ESD_SHARED_DIR=str(tmp_path / "no_shared"), **env)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", TEST],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
    )


def test_a_clone_without_shared_skips_with_one_summary_line(tmp_path: Path) -> None:
    out = run_without_shared(tmp_path)
    assert out.returncode == 0, out.stdout[-2000:]
    assert "1 skipped" in out.stdout
    assert "tests skipped: the team's shared fixtures (../shared) are absent" in out.stdout


def test_in_ci_a_missing_shared_fixture_is_an_error(tmp_path: Path) -> None:
    out = run_without_shared(tmp_path, CI="true")
    assert out.returncode == 1, out.stdout[-2000:]
    assert "in CI (or with ESD_REQUIRE_SHARED=1) this is an error" in out.stdout
