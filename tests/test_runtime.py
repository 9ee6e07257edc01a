import platform

import pytest
import torch

from esd.common import runtime


def test_pick_device():
    assert runtime.pick_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert runtime.pick_device("auto").type == expected
    with pytest.raises(ValueError, match="unknown device"):
        runtime.pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            runtime.pick_device("cuda")


def test_seed_everything_returns_reproducible_generator():
    a = torch.randn(3, generator=runtime.seed_everything(7))
    b = torch.randn(3, generator=runtime.seed_everything(7))
    assert torch.equal(a, b)


def test_torch_threads_restores():
    before = torch.get_num_threads()
    with runtime.torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    assert runtime.background_threads() >= 1


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc-only")
def test_tune_cpu_allocator_applies_on_glibc():
    assert runtime.tune_cpu_allocator() is True
