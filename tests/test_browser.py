"""The workbench in a real browser: Debian's Chromium driven by Python Playwright.

A newcomer's first hour on a tiny base model (with a tiny evaluator), every default clicked as
it is: train with the form's defaults, evaluate with the metrics tab's defaults, compare and
press Play (the recogniser's reading under each pair), export a pose and the checkpoint. Then
what goes wrong in a first hour: a second tab starts while a job runs (it is told so and
follows the running job), a reload mid-run (the form shows the running job's settings), a run
stopped half-way (marked incomplete in Runs, resumed and deleted from the page), a diverging
run (shown as failed, never offered for a comparison) and the page's layout (the Runs table's
verdict columns on screen, labels that fit). Screenshots go to ``test-artifacts/``
(git-ignored). Skipped without Chromium unless ESD_REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from esd.erasure import loop as erasure_loop
from esd.erasure.config import RECIPE
from tests.fakes import (
    CHROMIUM_ARGS,
    chromium_executable,
    write_fake_humanml3d,
    write_tiny_evaluator,
)
from tests.test_app import serve

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
WAIT_MS = 90_000  # longest wait for one UI step (the machine is shared)
VIEWPORT = {"width": 1400, "height": 1000}
LOSS_X = "() => { const p = document.querySelector('#loss-plot .js-plotly-plot'); "
LOSS_X += "return p && p.data && p.data.length ? p.data[0].x[p.data[0].x.length - 1] : 0; }"
MOTION = "document.querySelector('#motion-figure .motion-plot')"
FRAMES = f"() => {{ const g = {MOTION}; return g && g._transitionData ? "
FRAMES += "g._transitionData._frames.length : 0; }"
POSE = f"() => JSON.stringify({MOTION}.data[0].x)"
DEFAULT_RUN = "t2m_denoiser_vpred_vaegelu_ESD_a_person_kicking"
WAVING = "t2m_denoiser_vpred_vaegelu_ESD_a_person_waving"
DIVERGING = "t2m_denoiser_vpred_vaegelu_ESD_a_person_diverging"


def field(page, elem_id: str):
    """The text or number input of the component ``elem_id``."""
    return page.locator(f"#{elem_id} textarea, #{elem_id} input").first


def fill(page, elem_id: str, value: str) -> None:
    box = field(page, elem_id)
    box.fill(value)
    box.press("Tab")  # Gradio reads the value on blur


def text_of(page, elem_id: str) -> str:
    return page.locator(f"#{elem_id}").inner_text()


def wait_text(page, elem_id: str, text: str) -> None:
    """Wait until the element ``elem_id`` shows ``text``."""
    page.wait_for_function(
        "([id, text]) => { const e = document.getElementById(id); "
        "return e && e.innerText.includes(text); }",
        arg=[elem_id, text],
        timeout=WAIT_MS,
    )


def toast(page, text: str):
    """The toast (error, warning or info) that says ``text``."""
    return page.locator(".toast-body").filter(has_text=text).first


def pick(page, elem_id: str, name: str) -> None:
    """Type a run's name into a run picker (pickers accept any name) and confirm it."""
    box = field(page, elem_id)
    box.fill(name)
    box.press("Enter")
    box.press("Tab")


def test_a_newcomers_first_hour_in_chromium(tmp_path, text_encoder, monkeypatch) -> None:
    from playwright.sync_api import sync_playwright

    chromium = chromium_executable()
    ARTIFACTS.mkdir(exist_ok=True)
    diverge = force_divergence(monkeypatch)
    with serve(tmp_path, text_encoder) as (bench, url), sync_playwright() as pw:
        data = write_fake_humanml3d(
            tmp_path / "data",
            [40 + (i * 37) % 150 for i in range(40)],
            {"train": slice(0, 10), "test": slice(10, 40)},
        )
        write_tiny_evaluator(bench.checkpoints_dir, data)  # evaluations and recogniser notes
        browser = pw.chromium.launch(executable_path=chromium, args=list(CHROMIUM_ARGS))
        context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
        context.set_default_timeout(WAIT_MS)
        page = context.new_page()
        page.goto(url)
        try:
            train_with_the_defaults(page)
            evaluate_with_the_defaults(page)
            compare_with_the_defaults_and_play(page)
            export_a_pose_and_the_checkpoint(page, tmp_path)
            second = context.new_page()  # another tab, open before the next job starts
            second.goto(url)
            two_tabs_and_a_reload(page, second)
            the_stopped_run_is_incomplete_resumed_and_deleted(page)
            a_diverging_run_fails_and_is_never_offered(page, diverge)
            the_runs_table_and_labels_fit(page)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "workbench_failure.png"), full_page=True)
            raise
        finally:
            browser.close()
        assert not bench.snapshot().active


def force_divergence(monkeypatch) -> dict[str, bool]:
    """While ``flag["on"]``, the ESD loss is infinite (what a learning rate far too high does;
    the form's limits keep a real divergence out of reach of the tiny model)."""
    flag = {"on": False}
    esd_loss = erasure_loop.esd_loss

    def loss(*args, **kwargs) -> torch.Tensor:
        value = esd_loss(*args, **kwargs)
        return value * float("inf") if flag["on"] else value

    monkeypatch.setattr(erasure_loop, "esd_loss", loss)
    return flag


# --- the defaults, as they are ------------------------------------------------------------------


def train_with_the_defaults(page) -> None:
    assert field(page, "auto-anchors").input_value() == str(RECIPE.auto_anchors)
    page.locator("#start-training").click()
    wait_text(page, "train-status", "finished · ")
    status = text_of(page, "train-status")
    steps = RECIPE.iterations
    assert f"{DEFAULT_RUN} · step {steps}/{steps}" in status
    assert page.evaluate(LOSS_X) == steps  # the whole curve


def evaluate_with_the_defaults(page) -> None:
    page.get_by_role("tab", name="Metrics").click()
    assert field(page, "eval-samples").input_value() == ""  # empty: the preset's
    assert DEFAULT_RUN.split("_ESD_")[1] in field(page, "eval-model").input_value()
    page.locator("#start-evaluation").click()
    wait_text(page, "eval-status", "finished · ")
    summary = text_of(page, "eval-summary")
    assert summary.startswith(f"{DEFAULT_RUN} vs original") and "preset quick" in summary
    assert re.search(r"efficacy (pass|fail|inconclusive|n/a)", summary)
    table = text_of(page, "metrics-table")
    assert "Efficacy: a person kicking" in table and "FID" in table


def compare_with_the_defaults_and_play(page) -> None:
    page.get_by_role("tab", name="Compare").click()
    assert field(page, "compare-run").input_value().startswith("a_person_kicking · from ")
    assert page.locator("#plant-feet input[type=checkbox]").is_checked()  # planted by default
    page.locator("#compare").click()
    page.wait_for_function(f"({FRAMES})() > 1", timeout=WAIT_MS)
    assert page.evaluate(FRAMES) == 80  # 4 s at 20 fps
    assert page.evaluate(f"{MOTION}.data.length") >= 4 * 2  # 4 prompts x 2 models
    note = text_of(page, "compare-note")
    assert "feet planted" in note
    assert "Recogniser, original → unlearned:" in note
    assert re.search(r"a person kicking: \w+ \d\.\d\d → \d\.\d\d", note)
    before = page.evaluate(POSE)
    page.locator("#motion-figure").get_by_text("Play").first.click()
    page.wait_for_function(f"({POSE})() !== {before!r}", timeout=20_000)
    page.screenshot(path=str(ARTIFACTS / "workbench_compare.png"), full_page=True)


def export_a_pose_and_the_checkpoint(page, tmp_path: Path) -> None:
    page.get_by_role("tab", name="Export").click()
    page.locator("#motion-format").get_by_text("GLB mesh of one pose").click()
    page.locator("#export-motion").click()  # "Pose at" left empty: the middle
    wait_text(page, "motion-files", "_pose_040")  # the stem (the extension is apart)
    button = page.locator("#download-ckpt")
    page.wait_for_function(
        "!document.querySelector('#download-ckpt button, #download-ckpt').disabled",
        timeout=WAIT_MS,
    )
    with page.expect_download() as info:
        button.click()
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    payload = torch.load(target, weights_only=True)
    assert target.suffix == ".tar" and payload["kind"] == "base" and "erased" in payload


# --- two tabs, a reload, a stopped run ----------------------------------------------------------


def start_waving_run(page) -> None:
    """A long run with settings other than the defaults (so a reload can tell them apart)."""
    page.get_by_role("tab", name="Train").click()
    fill(page, "concept", "a person waving")
    fill(page, "count", "100000")
    fill(page, "batch", "8")
    page.get_by_text("Advanced").click()
    fill(page, "trajectories", "2")
    fill(page, "ddim-steps", "10")
    page.locator("#start-training").click()
    page.wait_for_function(f"({LOSS_X})() >= 3", timeout=WAIT_MS)


def two_tabs_and_a_reload(page, second) -> None:
    start_waving_run(page)
    second.get_by_role("tab", name="Train").click()
    second.locator("#start-training").click()  # the second tab's defaults, while a job runs
    toast(second, "one job at a time").wait_for()
    wait_text(second, "train-status", f"running · {WAVING}")  # it follows the running job
    shown = second.evaluate(LOSS_X)
    second.wait_for_function(f"({LOSS_X})() > {shown}", timeout=WAIT_MS)  # and its curve
    assert field(second, "concept").input_value() == "a person waving"
    before = page.evaluate(LOSS_X)
    page.reload()
    page.wait_for_function(f"({LOSS_X})() > {before}", timeout=WAIT_MS)
    assert f"running · {WAVING}" in text_of(page, "train-status")
    form = {name: field(page, name).input_value() for name in ("concept", "count", "batch")}
    assert form == {"concept": "a person waving", "count": "100000", "batch": "8"}
    page.locator("#stop-training").click()
    wait_text(page, "train-status", "stopped · ")
    wait_text(second, "train-status", "stopped · ")  # the follower saw the end too
    second.close()


def runs_row(page, name: str) -> str:
    """The text of the Runs table's row of ``name`` ('' when it is not listed)."""
    rows = page.locator("#runs-table [role=row]").filter(has_text=name)
    return rows.first.inner_text() if rows.count() else ""


def refresh_runs(page) -> None:
    page.get_by_role("tab", name="Runs").click()
    page.locator("#refresh-runs").click()
    page.wait_for_timeout(500)


def the_stopped_run_is_incomplete_resumed_and_deleted(page) -> None:
    refresh_runs(page)
    page.wait_for_function(
        "(name) => [...document.querySelectorAll('#runs-table [role=row]')].some("
        "r => r.innerText.includes(name) && r.innerText.includes('incomplete'))",
        arg=WAVING,
        timeout=WAIT_MS,
    )
    assert re.search(r"◐ incomplete: stopped at step \d+/100000", runs_row(page, WAVING))
    pick(page, "runs-pick", WAVING)
    page.locator("#resume-run").click()
    wait_text(page, "train-status", f"running · {WAVING}")
    page.locator("#stop-training").click()
    wait_text(page, "train-status", "stopped · ")
    refresh_runs(page)
    pick(page, "runs-pick", WAVING)
    page.locator("#delete-run").click()
    confirm = page.locator("#delete-confirm")
    confirm.wait_for(state="visible")
    assert WAVING in confirm.inner_text() and runs_row(page, WAVING)  # nothing deleted yet
    page.locator("#confirm-delete").click()
    confirm.wait_for(state="hidden")
    page.wait_for_function(
        "(name) => ![...document.querySelectorAll('#runs-table [role=row]')].some("
        "r => r.innerText.includes(name))",
        arg=WAVING,
        timeout=WAIT_MS,
    )


def a_diverging_run_fails_and_is_never_offered(page, diverge: dict[str, bool]) -> None:
    page.get_by_role("tab", name="Train").click()
    fill(page, "concept", "a person diverging")
    fill(page, "count", "20")
    diverge["on"] = True
    try:
        page.locator("#start-training").click()
        wait_text(page, "train-status", "failed · ")
    finally:
        diverge["on"] = False
    assert "training diverged at step 1" in text_of(page, "train-status")
    refresh_runs(page)
    assert "✗ failed: training diverged at step 1" in runs_row(page, DIVERGING)
    page.get_by_role("tab", name="Compare").click()
    field(page, "compare-run").click()
    options = page.locator("#compare-run [role=option]").all_inner_texts()
    assert options and not any("diverging" in o for o in options)
    field(page, "compare-run").press("Escape")
    pick(page, "compare-run", DIVERGING)
    page.locator("#compare").click()
    toast(page, "has no checkpoint (training diverged at step 1").wait_for()


# --- layout -------------------------------------------------------------------------------------


def the_runs_table_and_labels_fit(page) -> None:
    refresh_runs(page)
    height = page.locator("#runs-table th[title=name]").bounding_box()["height"]
    for name in ("status", "efficacy", "preservation", "specificity"):
        header = page.locator(f"#runs-table th[title={name}]")
        box = header.bounding_box()
        assert box["x"] + box["width"] <= VIEWPORT["width"], name  # on screen
        assert box["height"] <= height + 1, name  # one line, not a letter per line
        text = header.locator("span").first.bounding_box()
        assert text["x"] + text["width"] <= box["x"] + box["width"], name  # not cut
    page.screenshot(path=str(ARTIFACTS / "workbench_runs.png"), full_page=True)
    page.get_by_role("tab", name="Export").click()
    label = page.locator("#download-ckpt")
    assert label.evaluate("e => e.scrollWidth <= e.clientWidth + 1")  # the file name wraps
