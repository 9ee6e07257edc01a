import platform
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from esd.common import runtime
from tests.test_jobs import threads_of_a_new_thread


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


def test_server_threads_leave_one_core_to_the_server():
    assert runtime.server_threads(8) == 7
    assert runtime.server_threads(2) == 1 and runtime.server_threads(1) == 1
    assert runtime.server_threads() >= 1


def test_set_torch_threads_holds_for_threads_started_afterwards():
    before = torch.get_num_threads()
    try:
        assert runtime.set_torch_threads(before + 1) == before + 1
        assert threads_of_a_new_thread() == before + 1  # a server worker, a job
        assert runtime.set_torch_threads(0) == 1  # at least one thread
    finally:
        torch.set_num_threads(before)


BURST = """
import sys
from esd.common import runtime

def resident_mib():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20

assert runtime.tune_cpu_allocator()
blocks = [None] * 24
before = resident_mib()
for i in range(24):  # 192 MiB in 8 MiB blocks: under the mmap threshold, so from the heap
    blocks[i] = bytearray(8 << 20)
for i in reversed(range(24)):  # freed from the top down
    blocks[i] = None
kept = resident_mib() - before
assert runtime.release_free_memory()
print(kept, resident_mib() - before)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc-only")
def test_the_tuned_allocator_keeps_a_bounded_heap_and_releases_it():
    """In a fresh process (mallopt is process-wide): a freed 192 MiB burst stays resident only
    up to the trim threshold (the former 1 GiB kept all of it), and release gives it back."""
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", BURST], cwd=root, capture_output=True, text=True, check=True
    )
    kept, released = (float(v) for v in out.stdout.split())
    assert kept < runtime.HEAP_TRIM_THRESHOLD / 2**20 < 192
    assert released < 16
