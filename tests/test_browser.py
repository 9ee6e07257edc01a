"""The workbench in a real browser: Debian's Chromium driven by Python Playwright.

One walk through the UI on a tiny base model: start a training, watch the loss curve grow, stop
it, download the checkpoint, compare original vs unlearned, press Play and see the skeletons
move. A screenshot goes to ``test-artifacts/`` (git-ignored). Skipped without Chromium
unless ESD_REQUIRE_BROWSER=1.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.fakes import CHROMIUM_ARGS, chromium_executable
from tests.test_app import serve

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
WAIT_MS = 60_000  # longest wait for one UI step (the machine is shared)
LOSS_X = "() => { const p = document.querySelector('#loss-plot .js-plotly-plot'); "
LOSS_X += "return p && p.data && p.data.length ? p.data[0].x[p.data[0].x.length - 1] : 0; }"
MOTION = "document.querySelector('#motion-figure .motion-plot')"
FRAMES = f"() => {{ const g = {MOTION}; return g && g._transitionData ? "
FRAMES += "g._transitionData._frames.length : 0; }"
POSE = f"() => JSON.stringify({MOTION}.data[0].x)"


def fill_number(page, label: str, value: str) -> None:
    field = page.get_by_label(label, exact=True)
    field.fill(value)
    field.press("Tab")  # Gradio reads the value on blur


def test_the_workbench_in_chromium(tmp_path, text_encoder) -> None:
    from playwright.sync_api import sync_playwright

    chromium = chromium_executable()
    ARTIFACTS.mkdir(exist_ok=True)
    with serve(tmp_path, text_encoder) as (bench, url), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
            page.set_default_timeout(WAIT_MS)
            page.goto(url)
            try:
                train_and_stop(page)
                # The download button is enabled by the poll that saw the end and showed the run
                # (pickers, prompts); the stop click's reply may say "stopped" before it comes, and
                # a comparison form filled before it would be overwritten.
                download_checkpoint(page, tmp_path)
                compare_and_play(page)
                page.screenshot(path=str(ARTIFACTS / "workbench_compare.png"), full_page=True)
            except Exception:
                page.screenshot(path=str(ARTIFACTS / "workbench_failure.png"), full_page=True)
                raise
        finally:
            browser.close()
        assert not bench.snapshot().active


def train_and_stop(page) -> None:
    page.get_by_label("iterations", exact=True).check()
    fill_number(page, "Epochs / iterations", "100000")
    fill_number(page, "Batch size", "8")
    page.get_by_text("Advanced").click()
    fill_number(page, "Teacher trajectories", "2")
    fill_number(page, "DDIM steps per trajectory", "10")
    page.locator("#start-training").click()
    page.wait_for_function(f"({LOSS_X})() >= 3", timeout=WAIT_MS)
    first = page.evaluate(LOSS_X)
    page.wait_for_function(f"({LOSS_X})() > {first}", timeout=WAIT_MS)  # the curve grows
    before_reload = page.evaluate(LOSS_X)
    page.reload()  # a new page polls the service: it finds the running job and its curve
    page.wait_for_function(f"({LOSS_X})() > {before_reload}", timeout=WAIT_MS)
    # includes, not startswith: under load Gradio's pending-request timer ("0.3s") comes first
    assert "running · " in page.locator("#train-status").inner_text()
    page.locator("#stop-training").click()
    page.wait_for_function(
        "document.querySelector('#train-status').innerText.includes('stopped · ')",
        timeout=WAIT_MS,
    )


def compare_and_play(page) -> None:
    page.get_by_role("tab", name="Compare").click()
    page.wait_for_function(
        "document.querySelector('#compare-run input').value.includes('_ESD_a_person_kicking')",
        timeout=WAIT_MS,
    )  # the stopped run was picked up by the poll
    page.get_by_label("Related prompts", exact=True).fill("a person jumping")
    fill_number(page, "DDIM steps", "10")
    page.locator("#compare").click()
    page.wait_for_function(f"({FRAMES})() > 1", timeout=WAIT_MS)
    n_frames = page.evaluate(FRAMES)
    before = page.evaluate(POSE)
    page.locator("#motion-figure").get_by_text("Play").click()
    page.wait_for_function(f"({POSE})() !== {before!r}", timeout=10_000)
    assert n_frames == 80  # 4 s at 20 fps
    assert page.evaluate(f"{MOTION}.data.length") == 12  # 2 prompts x 2 models x 3 traces


def download_checkpoint(page, tmp_path: Path) -> None:
    page.get_by_role("tab", name="Export").click()
    button = page.locator("#download-ckpt")
    page.wait_for_function("!document.querySelector('#download-ckpt button, #download-ckpt')"
                           ".disabled", timeout=WAIT_MS)  # fmt: skip
    with page.expect_download() as info:
        button.click()
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    payload = torch.load(target, weights_only=True)
    assert target.suffix == ".tar" and payload["kind"] == "base" and "erased" in payload
