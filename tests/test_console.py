"""CLI console helpers: argparse number types, progress without a terminal."""

import argparse
import io
import re

import pytest
from rich.console import Console

from esd import console


@pytest.mark.parametrize(
    "parse, text, message",
    [
        (console.positive_int, "0", "must be at least 1"),
        (console.positive_int, "2.5", "expected a whole number"),
        (console.positive_float, "nan", "positive finite"),
        (console.positive_float, "-1e-5", "positive finite"),
        (console.positive_float, "fast", "is not a number"),
        (console.seed_int, "-3", "seed must be >= 0"),
    ],
)
def test_number_types_refuse_with_a_reason(parse, text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        parse(text)


def test_number_types_accept_good_values():
    assert console.positive_int("3") == 3 and console.seed_int("0") == 0
    assert console.positive_float("1e-5") == 1e-5


def test_progress_prints_plain_lines_when_not_a_terminal(monkeypatch):
    monkeypatch.setattr(console, "PLAIN_EVERY_S", 3600.0)
    out = io.StringIO()
    with console.StepProgress("denoiser", 3, Console(file=out, force_terminal=False)) as bar:
        for step in (1, 2, 3):
            bar.update(step, f"loss {step}")
    plain = [line for line in out.getvalue().splitlines() if re.match(r"\d\d:\d\d:\d\d ", line)]
    assert len(plain) == 1 and plain[0].endswith("denoiser 3/3 loss 3")  # interval not reached


def _raise(err: BaseException):
    def main():
        raise err

    return main


@pytest.mark.parametrize(
    "err, line",
    [
        (ValueError("no base model named 'nope'\nsecond line"), "no base model named 'nope'"),
        (FileNotFoundError(2, "No such file", "x.npy"), "FileNotFoundError: [Errno 2]"),
        (KeyboardInterrupt(), "interrupted"),
    ],
)
def test_run_cli_ends_user_errors_in_one_line(err, line, capsys):
    with pytest.raises(SystemExit) as exit_info:
        console.run_cli(_raise(err))
    text = capsys.readouterr().err.strip()
    assert exit_info.value.code == console.EXIT_USAGE and len(text.splitlines()) == 1
    assert text.startswith("error:") and line in text and "second line" not in text


def test_run_cli_passes_results_on_and_lets_bugs_raise():
    assert console.run_cli(lambda: 7) == 7
    with pytest.raises(RuntimeError):  # not a user error: the traceback stays
        console.run_cli(_raise(RuntimeError("bug")))


def test_run_cli_says_what_ctrl_c_kept_and_lets_exits_through(capsys):
    with pytest.raises(SystemExit) as exit_info:
        console.run_cli(_raise(KeyboardInterrupt()), interrupted="interrupted; nothing was written")
    assert exit_info.value.code == console.EXIT_USAGE
    assert capsys.readouterr().err.strip() == "error: interrupted; nothing was written"
    with pytest.raises(SystemExit) as exit_info:  # a command's own exit (e.g. resume on Ctrl-C)
        console.run_cli(_raise(SystemExit(130)))
    assert exit_info.value.code == 130 and capsys.readouterr().err == ""


def test_run_cli_keeps_a_long_line_whole(capsys):
    advice = "no CLIP model in /a/long/path; " + "x" * 400 + " pass --clip_path DIR"
    with pytest.raises(SystemExit):
        console.run_cli(_raise(ValueError(advice)))
    assert capsys.readouterr().err.strip().endswith("pass --clip_path DIR")


def test_run_cli_gives_a_resuming_command_its_hint_and_status_130(capsys):
    with pytest.raises(SystemExit) as exit_info:
        console.run_cli(_raise(KeyboardInterrupt()), resume_hint="interrupted: use --resume")
    assert exit_info.value.code == console.EXIT_INTERRUPTED == 130
    err = capsys.readouterr().err
    assert err.strip() == "interrupted: use --resume" and "error" not in err
