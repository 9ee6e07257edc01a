"""esd.common.files: the one atomic writer and the one safe-file-name rule."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from esd.common.files import FILE_MODE, atomic_save, atomic_write, safe_filename


def test_atomic_files_get_the_usual_permissions_not_0600(tmp_path: Path) -> None:
    path = atomic_write(tmp_path / "report.md", "hello")
    assert stat.S_IMODE(path.stat().st_mode) == FILE_MODE
    umask = os.umask(0)
    os.umask(umask)
    assert 0o666 & ~umask == FILE_MODE


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = atomic_write(tmp_path / "model.tar", b"old")

    def broken(handle) -> None:
        handle.write(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_save(path, broken)
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.tar"]


def test_safe_filename_keeps_case_only_when_asked() -> None:
    assert safe_filename("My Run/../x") == "my_run_x"
    assert safe_filename("My Run/../x", keep_case=True) == "My_Run_x"
    assert safe_filename("CON", keep_case=True) == "CON_"
    assert safe_filename("../..", fallback="model", keep_case=True) == "model"
