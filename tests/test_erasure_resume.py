"""Resume oracle: N steps in one go equal k steps, a stop, and a resume for N - k, bit for bit."""

import threading

import pytest
import torch

from esd.erasure.config import ESDConfig
from esd.erasure.loop import run_esd
from esd.models import checkpoints as ck
from tests.tiny import tiny_generator

# 2 prompts (balanced batches), 7 iterations per concept = 14 steps, epochs of 5 steps: the stop
# at step 6 falls inside an epoch (latest.tar written on stop) and the resume crosses epochs.
CFG = ESDConfig(
    concepts=("a person kicking", "a person waving"),
    trajectories=2,
    ddim_steps=10,
    batch_size=8,
    seconds=(2.0, 2.4),
    lr=1e-3,
    iterations=7,
)
STOP_AT = 6


@pytest.fixture
def base(text_encoder):
    return tiny_generator(text_encoder)


def test_k_steps_plus_a_resume_equal_n_steps_bitwise(base, tmp_path):
    whole = run_esd(base, CFG, ck.run_paths(tmp_path, "whole"))
    assert whole.steps_done == 14

    run = ck.run_paths(tmp_path, "parts")
    stop = threading.Event()

    def stop_at(report):
        if report.step == STOP_AT:
            stop.set()

    first = run_esd(base, CFG, run, on_step=stop_at, stop=stop)
    assert first.stopped and first.steps_done == STOP_AT
    second = run_esd(base, CFG, run, resume=True)
    assert second.steps_done == 14 and not second.stopped

    assert second.losses == whole.losses  # every loss, bit for bit
    assert second.final_loss == whole.final_loss
    whole_state, second_state = whole.student.state_dict(), second.student.state_dict()
    assert all(torch.equal(whole_state[k], second_state[k]) for k in whole_state)
    saved = ck.load_checkpoint(run.latest, kind="esd")
    reference = ck.load_checkpoint(ck.run_paths(tmp_path, "whole").latest, kind="esd")
    assert saved["losses"] == reference["losses"] and saved["total_steps"] == 14
    for name, tensor in reference["denoiser"].items():
        assert torch.equal(saved["denoiser"][name], tensor)
    for key, value in reference["optimizer"]["state"].items():
        assert torch.equal(saved["optimizer"]["state"][key]["exp_avg"], value["exp_avg"])
