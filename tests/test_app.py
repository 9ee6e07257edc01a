"""app.py: the Gradio workbench served in-process and driven through its API (gradio_client),
plus the figures it shows (``viz.figures``) and its command line."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from esd.models import checkpoints as ck
from esd.models import generator as generator_module
from esd.motion.skeleton import NUM_JOINTS
from esd.workbench.export import MOTION_FORMATS
from esd.workbench.service import Workbench
from tests.fakes import write_fake_humanml3d, write_tiny_evaluator
from tests.test_viz_skeleton import random_motion
from tests.tiny import write_tiny_base
from viz import export as viz_export
from viz.figures import loss_figure, pair_figure, running_mean

gradio_client = pytest.importorskip("gradio_client")
import gradio as gr  # noqa: E402

import app  # noqa: E402  (after the skip: app imports gradio)

BASE = ck.BASE_MODEL_NAME
TIMEOUT = 60.0
ENDPOINTS = {
    "/start_training", "/poll_training", "/stop_training", "/show_run", "/compare",
    "/start_evaluation", "/poll_evaluation", "/stop_evaluation", "/export_checkpoint",
    "/export_motion", "/list_runs", "/load_run", "/resume_training", "/delete_run",
}  # fmt: skip


def form(**changes) -> list:
    """The training form's values in the order of the start_training endpoint."""
    values = {
        "base": BASE,
        "concept": "a person kicking",
        "related": "a person jumping\na person punching",
        "eta": 1.0,
        "lr": 1e-3,
        "unit": "iterations",
        "count": 100_000,
        "batch": 8,
        "method": "esd-x",
        "anchors": 0,
        "seed": 0,
        "xt_source": "pool",
        "trajectories": 2,
        "ddim_steps": 10,
        "existing": next(iter(app.EXISTING_RUN)),  # train beside an existing run
    }
    values.update(changes)
    return [values[name] for name in app.FORM]


@contextlib.contextmanager
def serve(root: Path, text_encoder) -> Iterator[tuple[Workbench, str]]:
    """The demo launched in-process over a tiny base model in ``root``: (workbench, url).

    The bundled assets are hidden: the workbench sees only the tiny models written here (and no
    evaluator until a test writes one)."""
    generator_module._SHARED_TEXT_ENCODERS["cpu"] = text_encoder
    write_tiny_base(root / "checkpoints", text_encoder)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ck, "ASSETS_DIR", root / "no_assets")
        bench = Workbench(
            root / "checkpoints",
            root / "outputs",
            "cpu",
            text_encoder,
            motion_writers=viz_export,
        )
        demo = app.build_demo(bench)
        _, url, _ = demo.launch(
            server_name="127.0.0.1",
            prevent_thread_lock=True,
            quiet=True,
            ssr_mode=False,
            **app.launch_options(bench),
        )
        try:
            yield bench, url
        finally:
            bench.stop()
            bench.wait(TIMEOUT)
            demo.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory, text_encoder):
    """The served demo and a gradio_client bound to it."""
    root = tmp_path_factory.mktemp("app")
    with serve(root, text_encoder) as (bench, url):
        client = gradio_client.Client(url, verbose=False, download_files=str(root / "downloads"))
        try:
            yield {"bench": bench, "client": client, "url": url, "root": root}
        finally:
            client.close()


def poll_until(client, predicate, timeout: float = TIMEOUT) -> tuple:
    end = time.monotonic() + timeout
    while True:
        out = client.predict(api_name="/poll_training")
        if predicate(out):
            return out
        assert time.monotonic() < end, f"timed out; last status {out[0]!r}"
        time.sleep(0.1)


def plotted_steps(plot: dict) -> list[int]:
    """x values of the loss line in a gr.Plot value ([] for an unchanged plot: gr.skip())."""
    if "plot" not in plot:
        return []
    figure = json.loads(plot["plot"])
    return figure["data"][0]["x"] if figure["data"] else []


@pytest.fixture(scope="module")
def stopped_run(served) -> dict:
    """Start a (practically endless) training through the API, watch it, stop it."""
    client = served["client"]
    status, _, timer = client.predict(*form(), api_name="/start_training")
    assert status.startswith("preparing") and timer["active"] is True
    first = poll_until(client, lambda out: len(plotted_steps(out[1])) >= 3)
    shown = plotted_steps(first[1])[-1]
    grown = poll_until(client, lambda out: max(plotted_steps(out[1]), default=0) > shown)
    with pytest.raises(gradio_client.exceptions.AppError, match="one job at a time"):
        client.predict(*form(concept="a person waving"), api_name="/start_training")
    assert client.predict(api_name="/stop_training").startswith("stopping")
    last = poll_until(client, lambda out: out[0].startswith("stopped"))
    return {
        "first": first,
        "grown": grown,
        "last": last,
        "run": served["bench"].snapshot().run_name,
    }


def test_every_handler_has_an_api_name(served) -> None:
    endpoints = served["client"].view_api(print_info=False, return_format="dict")
    assert set(endpoints["named_endpoints"]) == ENDPOINTS


def test_training_streams_its_loss_and_stops_with_a_checkpoint(served, stopped_run) -> None:
    run = stopped_run["run"]
    assert run == f"{BASE}_ESD_a_person_kicking"
    status, _, timer, compare_run, eval_model, download, target, related, summary, _ = stopped_run[
        "last"
    ]
    assert status.startswith(f"stopped · {run} · step ") and "it/s" in status
    assert timer["active"] is False  # the poll switched itself off
    assert compare_run["value"] == run and eval_model["value"] == run
    assert download["interactive"] is True and str(download["value"]).endswith(".tar")
    assert target == "a person kicking" and related == "a person jumping\na person punching"
    assert summary == f"{run}: not evaluated yet"
    latest = ck.load_checkpoint(ck.run_paths(served["bench"].checkpoints_dir, run).latest)
    assert latest["total_iter"] >= 3


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"concept": ""}, "target concept is empty"),
        ({"lr": -1.0}, "learning rate must be between"),
        ({"eta": 99.0}, "negative guidance must be between 0.5 and 5, got 99"),  # no clamping
        ({"eta": -3.0}, "negative guidance must be between 0.5 and 5, got -3"),
        ({"seed": 2**40}, "seed must be between 0 and 2147483647, got"),
        ({"count": None}, "iterations is empty"),
        ({"batch": 1e12}, "batch size must be between"),
        ({"anchors": 9}, "anchored concepts must be between 0 and 8"),
        ({"base": None}, "no base model chosen"),
        ({"existing": "refuse", "count": 5}, "already exists"),
    ],
)
def test_bad_training_forms_are_shown_as_one_line_errors(served, stopped_run, changes, message):
    with pytest.raises(gradio_client.exceptions.AppError, match=message) as info:
        served["client"].predict(*form(**changes), api_name="/start_training")
    assert "Traceback" not in str(info.value)


def test_compare_returns_an_animated_pair_figure_and_exports_motions(served, stopped_run):
    client, run = served["client"], stopped_run["run"]
    figure, motions, note = client.predict(
        run, "a person kicking", "a person jumping", "a person waving\n", 2.0, 3, 10,
        api_name="/compare",
    )  # fmt: skip
    payload = json.loads(figure)
    assert len(payload["frames"]) == 40 and len(payload["frames"][0]["data"]) == 6  # 3 x 2
    titles = [a["text"] for a in payload["layout"]["annotations"]]
    assert titles[0].startswith("a person kicking") and "unlearned" in titles[1]
    assert [c[1] for c in motions["choices"]][:2] == ["0:original", "0:unlearned"]
    assert note.startswith("3 prompts · seed 3") and "10 DDIM steps, guidance 2.5" in note
    files = client.predict("0:unlearned", "npy", None, api_name="/export_motion")
    joints = np.load(next(f for f in files if f.endswith("_joints.npy")))
    assert joints.shape == (40, NUM_JOINTS, 3)
    for fmt in MOTION_FORMATS:
        assert client.predict("1:original", fmt, 0.5, api_name="/export_motion")
    with pytest.raises(gradio_client.exceptions.AppError, match="pose time must be between"):
        client.predict("1:original", "glb-pose", 99.0, api_name="/export_motion")
    with pytest.raises(gradio_client.exceptions.AppError, match="target prompt is empty"):
        client.predict(run, " ", "", "", 2.0, 3, 10, api_name="/compare")
    *_, note = client.predict(run, "a person kicking", "", "", 2.0, 3, "", api_name="/compare")
    assert "50 DDIM steps, guidance 2.5 · feet planted" in note  # empty: the model's sampler
    *_, note = client.predict(
        run, "a person kicking", "", "", 2.0, 3, 10, False, api_name="/compare"
    )
    assert note.split("\n")[0].endswith("guidance 2.5")  # unplanted: as the models made them


def test_the_checkpoint_downloads_and_reloads(served, stopped_run) -> None:
    label = next(iter(app.CHECKPOINT_FORMATS))
    button = served["client"].predict(stopped_run["run"], label, api_name="/export_checkpoint")
    assert button["interactive"] is True and button["label"].endswith("_standalone.tar")
    payload = torch.load(button["value"], weights_only=True)  # the downloaded file
    assert payload["kind"] == "base" and payload["erased"]["run"] == stopped_run["run"]
    with pytest.raises(gradio_client.exceptions.AppError, match="is a base model; pick an"):
        served["client"].predict(BASE, label, api_name="/export_checkpoint")  # runs only


def test_runs_list_and_a_run_deleted_while_shown(served, stopped_run) -> None:
    client, run = served["client"], stopped_run["run"]
    t2m = served["bench"].checkpoints_dir / "t2m"
    shutil.copytree(t2m / run, t2m / f"{run}_copy")
    table, picker = client.predict(api_name="/list_runs")
    assert {run, f"{run}_copy"} <= {row[0] for row in table["data"]}
    assert [c[1] for c in picker["choices"]] == [run, f"{run}_copy"]
    assert picker["choices"][0][0].startswith("a_person_kicking · from ")  # the concept first
    shown = client.predict(f"{run}_copy", api_name="/load_run")
    assert shown[0]["value"] == f"{run}_copy" and shown[3] == "a person kicking"
    shutil.rmtree(t2m / f"{run}_copy")
    for args, api_name in [
        ((f"{run}_copy",), "/load_run"),
        ((f"{run}_copy", "a person kicking", "", "", 2.0, 0, 10), "/compare"),
        ((f"{run}_copy", next(iter(app.CHECKPOINT_FORMATS))), "/export_checkpoint"),
    ]:
        with pytest.raises(gradio_client.exceptions.AppError, match="does not exist \\(any more"):
            client.predict(*args, api_name=api_name)
    with pytest.raises(gradio_client.exceptions.AppError, match="pick a run"):
        client.predict(None, api_name="/load_run")
    with pytest.raises(gradio_client.exceptions.AppError, match="no evaluator found"):
        client.predict(run, "quick", "4", 0, api_name="/start_evaluation")


def test_an_evaluation_fills_the_metrics_table(served, stopped_run) -> None:
    client, run, root = served["client"], stopped_run["run"], served["root"]
    lengths = [40 + (i * 37) % 150 for i in range(40)]
    splits = {"train": slice(0, 10), "test": slice(10, 40)}
    data = write_fake_humanml3d(root / "data", lengths, splits)
    write_tiny_evaluator(served["bench"].checkpoints_dir, data)
    status, timer = client.predict(run, "quick", "4", 0, api_name="/start_evaluation")
    assert status.startswith("preparing") and timer["active"] is True
    end = time.monotonic() + TIMEOUT
    while (out := client.predict(api_name="/poll_evaluation"))[1]["active"]:
        assert time.monotonic() < end, out[0]
        time.sleep(0.2)
    status, _, summary, table = out  # the first poll that sees the end brings the table
    assert status.startswith(f"finished · {run}")
    assert summary.startswith(f"{run} vs original {BASE} · preset custom")
    assert table["headers"] == list(app.METRICS_HEADERS)
    assert table["data"][0][:2] == ["Efficacy: a person kicking", "concept rate ↓"]


def test_a_reloaded_page_finds_the_running_job(served, stopped_run) -> None:
    """demo.load polls the service: a new page (no session state) sees the running training."""
    ui, bench = app.WorkbenchUI(served["bench"]), served["bench"]
    bench.start_training(
        app.TrainingRequest(concept="a person waving", iterations=100_000, auto_suffix=True,
                            trajectories=2, ddim_steps=10, batch_size=8, seconds=(2.0, 2.0))
    )  # fmt: skip
    try:
        end = time.monotonic() + TIMEOUT
        while not bench.snapshot().losses and time.monotonic() < end:
            time.sleep(0.05)
        page = ui.load()
        base, status, loss, timer = page[:4]
        download = page[6 + 2 + 2]  # after the jobs, the lists and two pickers
        assert base.value == BASE and timer.active is True
        assert download.interactive is False  # no download of a run still training
        assert status.startswith("running · ") and "a_person_waving" in status
        assert loss.data[0].x  # the loss curve so far
        form = dict(zip(app.FORM, page[-len(app.FORM) :]))  # the running job's settings
        assert form["concept"] == "a person waving" and form["count"] == 100_000
        assert form["batch"] == 8 and form["trajectories"] == 2 and form["unit"] == "iterations"
    finally:
        bench.stop()
        bench.wait(TIMEOUT)
    page = ui.load()
    assert page[3].active is False
    assert page[-len(app.FORM)] == gr.skip()  # no job: the form keeps what the user typed


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--port", "70000"], "port must be in 1..65535"),
        (["--host", "0.0.0.0.1"], "host '0.0.0.0.1' does not resolve"),
        (["--clip_path", "/no/such/clip"], "no CLIP model in /no/such/clip"),
    ],
)
def test_main_reports_bad_settings_in_one_line(argv, message, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        app.main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_clip_path_reaches_the_workbench(monkeypatch, tmp_path) -> None:
    """--clip_path: SALAD models' CLIP folder (a folder with config.json or a hub-cache entry);
    default ``<checkpoints_dir>/clip-vit-base-patch32``."""
    built: list[Workbench] = []

    class Demo:
        def launch(self, **kwargs) -> None:
            pass

    monkeypatch.setattr(app, "build_demo", lambda workbench: built.append(workbench) or Demo())
    for name in ("set_torch_threads", "tune_cpu_allocator", "check_port_free"):
        monkeypatch.setattr(app, name, lambda *args: None)  # nothing process-wide, no bind
    folders = ["--checkpoints_dir", str(tmp_path / "c"), "--output_dir", str(tmp_path / "o")]
    assert app.main(folders) == 0
    assert built[-1].models.clip_dir == tmp_path / "c" / "clip-vit-base-patch32"
    snapshot = tmp_path / "hub" / "snapshots" / "abc"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    assert app.main([*folders, "--clip_path", str(tmp_path / "hub")]) == 0
    assert built[-1].models.clip_dir == tmp_path / "hub"


def test_a_script_names_a_run_on_disk_without_listing_first(served, stopped_run, capfd):
    """A fresh API session (it never called /list_runs): any run on disk is accepted, an
    unknown one is refused in one line, and no rejection logs a traceback on the server."""
    client = gradio_client.Client(served["url"], verbose=False)
    run = stopped_run["run"]
    try:
        figure, _, note = client.predict(
            run, "a person kicking", "", "", 2.0, 0, 10, api_name="/compare"
        )
        assert json.loads(figure)["frames"] and note.startswith("1 prompts")
        assert client.predict(run, api_name="/show_run")[0]["value"] == run
        capfd.readouterr()
        rejected = [
            ((f"{run}_gone", "a person kicking", "", "", 2.0, 0, 10), "/compare", "does not exist"),
            (
                (run, "a person kicking", "", "", 999.0, 0, 10),
                "/compare",
                "seconds must be between",
            ),
            ((f"{run}_gone",), "/show_run", None),  # a warning, the pickers emptied
            (("../etc",), "/load_run", "invalid model name"),
            ((f"{run}_gone", "quick", "", 0), "/start_evaluation", "does not exist"),
            (tuple(form(method="lora")), "/start_training", "unknown method 'lora'"),
        ]
        for args, api_name, message in rejected:
            if message is None:
                assert client.predict(*args, api_name=api_name)[0]["value"] is None
                continue
            with pytest.raises(gradio_client.exceptions.AppError, match=message) as info:
                client.predict(*args, api_name=api_name)
            assert "\n" not in str(info.value)
    finally:
        client.close()
    logged = capfd.readouterr()
    assert "Traceback" not in logged.out + logged.err


def test_every_field_of_the_forms_says_what_it_does(served) -> None:
    demo = app.build_demo(served["bench"])
    info = {
        c["props"].get("label"): c["props"].get("info")
        for c in demo.config["components"]
        if c["props"].get("label")
    }
    for label in ("Base model", "Negative guidance η", "Learning rate", "Trained parameters",
                  "x_t", "Batch size", "Seed", "Teacher trajectories", "Seconds",
                  "Samples per block", "Pose at (s)"):  # fmt: skip
        assert info[label], label
    assert "esd-x" in info["Trained parameters"] and "esd-u" in info["Trained parameters"]
    assert all(word in info["x_t"] for word in ("pool", "teacher", "data"))
    assert "0.5 to 5" in info["Negative guidance η"]
    assert any("2147483647" in (c["props"].get("info") or "") for c in demo.config["components"])


def test_a_port_in_use_says_which_option_to_change(capsys) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as info:
            app.main(["--port", str(port)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"port {port} on 127.0.0.1 is in use" in err and f"--port {port + 1}" in err
    assert "GRADIO_SERVER_PORT" not in err and "Traceback" not in err


def test_a_host_others_can_reach_is_served_with_a_warning_or_a_login(
    monkeypatch, capsys, tmp_path
) -> None:
    launched: dict = {}

    class Demo:
        def launch(self, **kwargs) -> None:
            launched.clear()
            launched.update(kwargs)

    monkeypatch.setattr(app, "build_demo", lambda workbench: Demo())
    for name in ("set_torch_threads", "tune_cpu_allocator", "check_port_free"):
        monkeypatch.setattr(app, name, lambda *args: None)  # nothing process-wide, no bind
    folders = ["--checkpoints_dir", str(tmp_path / "c"), "--output_dir", str(tmp_path / "o")]
    assert app.main(["--host", "0.0.0.0", *folders]) == 0
    err = capsys.readouterr().err
    assert "anyone who reaches this page can start jobs" in err and "--auth" in err
    assert len(err.strip().splitlines()) == 1 and launched["auth"] is None
    secret = tmp_path / "login.txt"
    secret.write_text("ann:s3cret\n")
    assert app.main(["--host", "0.0.0.0", "--auth", str(secret), *folders]) == 0
    assert "anyone" not in capsys.readouterr().err and launched["auth"] == ("ann", "s3cret")
    assert app.main(["--auth", "bob:pw", *folders]) == 0  # loopback: no warning either way
    assert capsys.readouterr().err == "" and launched["auth"] == ("bob", "pw")
    with pytest.raises(SystemExit):
        app.main(["--auth", "no-colon", *folders])
    assert "auth must be USER:PASSWORD" in capsys.readouterr().err
    assert app.is_loopback("localhost") and app.is_loopback("::1")
    assert not app.is_loopback("0.0.0.0")


@pytest.mark.skipif(
    torch.cuda.is_available(), reason="this machine has CUDA: --device cuda is valid"
)
def test_main_refuses_cuda_without_a_gpu(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        app.main(["--device", "cuda", "--port", "7999"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "no CUDA GPU is available" in err and "Traceback" not in err


# --- the figures the UI shows -------------------------------------------------------------------


def test_loss_figure_draws_at_most_max_points_with_first_and_last_steps() -> None:
    fig = loss_figure(np.linspace(1.0, 0.0, 5000), max_points=100)
    steps = fig.data[0].x
    assert len(steps) == 100 and steps[0] == 1 and steps[-1] == 5000
    assert fig.data[1].y[-1] == pytest.approx(np.linspace(1.0, 0.0, 5000)[-100:].mean())
    assert loss_figure([]).layout.annotations[0].text == "no training yet"
    gaps = loss_figure([1.0, float("nan"), 3.0])
    assert gaps.data[0].y[1] is None or np.isnan(gaps.data[0].y[1])


def test_running_mean_skips_non_finite_values() -> None:
    got = running_mean(np.array([1.0, 3.0, np.nan, np.nan, 5.0]), 2)
    np.testing.assert_allclose(got, [1.0, 2.0, 3.0, np.nan, 5.0])


def test_pair_figure_rows_share_their_axis_ranges() -> None:
    small, large = random_motion(20, 0) * 0.2, random_motion(30, 1) * 3.0
    fig = pair_figure([("kick", small, large), ("jump", large, small)], "orig", "unl")
    assert len(fig.frames) == 30 and len(fig.data) == 12
    for row in range(2):
        first, second = (fig.layout[fig.data[2 * row + i].scene] for i in range(2))
        for axis in ("xaxis", "yaxis", "zaxis"):
            assert first[axis].range == second[axis].range
        assert first.aspectratio == second.aspectratio
    points = large.reshape(-1, 3)[:, [2, 0, 1]]  # motion -> plotly axes
    ranges = np.array([fig.layout.scene[a].range for a in ("xaxis", "yaxis", "zaxis")])
    assert (points >= ranges[:, 0] - 1e-3).all() and (points <= ranges[:, 1] + 1e-3).all()
    with pytest.raises(ValueError, match="at least one"):
        pair_figure([])
