import os
import re

import pytest
import torch

from esd.common.prompts import MAX_SLUG_CHARS
from esd.models import checkpoints as ck


def test_save_load_round_trip_weights_only(tmp_path):
    path = tmp_path / "model" / "latest.tar"
    payload = {"kind": "esd", "denoiser": {"w": torch.arange(6.0).view(2, 3)}, "epoch": 3}
    ck.save_checkpoint(payload, path)
    loaded = ck.load_checkpoint(path, kind="esd")
    assert loaded["epoch"] == 3 and loaded["format"] == ck.FORMAT_TAG
    assert torch.equal(loaded["denoiser"]["w"], payload["denoiser"]["w"])
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_save_is_atomic_when_serialisation_fails(tmp_path):
    path = tmp_path / "latest.tar"
    ck.save_checkpoint({"kind": "esd", "epoch": 1}, path)

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        ck.save_checkpoint({"kind": "esd", "bad": Unpicklable()}, path)
    assert ck.load_checkpoint(path)["epoch"] == 1  # the old file is intact
    assert os.listdir(tmp_path) == ["latest.tar"]


def test_load_errors_are_clear(tmp_path):
    with pytest.raises(ck.CheckpointError, match="not found"):
        ck.load_checkpoint(tmp_path / "missing.tar")
    corrupt = tmp_path / "corrupt.tar"
    corrupt.write_bytes(b"this is not a torch file")
    with pytest.raises(ck.CheckpointError, match="not a readable checkpoint"):
        ck.load_checkpoint(corrupt)
    truncated = tmp_path / "truncated.tar"
    ck.save_checkpoint({"kind": "base", "x": torch.zeros(1000)}, truncated)
    truncated.write_bytes(truncated.read_bytes()[:500])
    with pytest.raises(ck.CheckpointError, match="not a readable checkpoint"):
        ck.load_checkpoint(truncated)
    foreign = tmp_path / "foreign.tar"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(ck.CheckpointError, match="not an ESD-for-Motion checkpoint"):
        ck.load_checkpoint(foreign)
    base = tmp_path / "base.tar"
    ck.save_checkpoint({"kind": "base"}, base)
    with pytest.raises(ck.CheckpointError, match="expected esd"):
        ck.load_checkpoint(base, kind="esd")


def test_load_refuses_arbitrary_pickles(tmp_path):
    evil = tmp_path / "evil.tar"
    torch.save({"format": ck.FORMAT_TAG, "kind": "base", "obj": ck.RunPaths(tmp_path)}, evil)
    with pytest.raises(ck.CheckpointError, match="not a readable checkpoint") as info:
        ck.load_checkpoint(evil)
    message = str(info.value)  # the reason, without torch's advice to load with weights_only=False
    assert "weights_only=True refused it (Unsupported global" in message and "RunPaths" in message
    assert "weights_only` set to `False`" not in message and "\n" not in message


def test_concept_slug_is_folder_safe():
    assert ck.concept_slug("a person kicking") == "a_person_kicking"
    for text in ("../../etc/passwd", "  Kick!  ", "kick " * 40, "一个人在踢腿"):
        slug = ck.concept_slug(text)
        assert re.fullmatch(r"[a-z0-9_]+", slug) and len(slug) <= MAX_SLUG_CHARS
    assert ck.concept_slug("../../etc/passwd").startswith("etc_passwd_")
    assert ck.concept_slug("a/person/kicking") != ck.concept_slug("a person kicking")
    for bad in ["   ", "../..", "!!!"]:
        with pytest.raises(ValueError, match=r"no letters or digits|empty"):
            ck.concept_slug(bad)
    assert ck.esd_run_name("base", "a person kicking") == "base_ESD_a_person_kicking"
    assert ck.esd_run_name("base", ["kick", "punch"]) == "base_ESD_kick+punch"


def test_opt_round_trip(tmp_path):
    ck.write_opt(tmp_path / "opt.txt", {"lr": 1e-5, "name": "x", "batch_size": 8})
    assert ck.read_opt(tmp_path / "opt.txt") == {"batch_size": "8", "lr": "1e-05", "name": "x"}


def test_registry_prefers_checkpoints_and_lists_available(tmp_path):
    paths = ck.run_paths(tmp_path, "mine")
    ck.save_checkpoint({"kind": "base"}, paths.best)
    esd = ck.run_paths(tmp_path, "mine_ESD_kick")
    ck.save_checkpoint({"kind": "esd"}, esd.latest)
    names = {e.name: e for e in ck.list_models(tmp_path)}
    assert names["mine"].kind == "base" and names["mine_ESD_kick"].kind == "esd"
    assert {e.family for e in names.values()} == {"bundled"}
    assert names["mine"].text_encoder == "all-MiniLM-L6-v2"
    assert ck.resolve_model("mine", tmp_path) == paths
    assert ck.default_checkpoint(esd) == esd.latest
    assert ck.resolve_checkpoint(esd, "latest.tar") == esd.latest
    with pytest.raises(ck.CheckpointError, match=r"available models: .*mine"):
        ck.resolve_model("nope", tmp_path)
    with pytest.raises(ck.CheckpointError, match="files in"):
        ck.resolve_checkpoint(esd, "net_e_99.tar")
    for bad in ["", "..", "a/b"]:
        with pytest.raises(ValueError, match="invalid model name"):
            ck.resolve_model(bad, tmp_path)


def test_a_run_with_an_exported_best_checkpoint_stays_a_run(tmp_path):
    """An ESD run may also hold model/net_best_fid.tar (its denoiser in SALAD's format): the
    folder is still the run, and its checkpoint is still latest.tar."""
    run = ck.run_paths(tmp_path, "base_ESD_kick")
    ck.save_checkpoint({"kind": "esd"}, run.latest)
    torch.save({"denoiser": {}, "epoch": 1}, run.best)
    assert {e.name: e.kind for e in ck.list_models(tmp_path)}["base_ESD_kick"] == "esd"
    assert ck.default_checkpoint(run) == run.latest


def test_load_raw_maps_large_files_and_reads_legacy_ones(tmp_path):
    zipped, legacy = tmp_path / "zip.tar", tmp_path / "legacy.tar"
    torch.save({"denoiser": {"w": torch.ones(3)}}, zipped)
    torch.save({"vae": {"w": torch.ones(3)}}, legacy, _use_new_zipfile_serialization=False)
    assert ck.is_salad_checkpoint(ck.load_raw(zipped, mmap=True))
    assert not ck.is_salad_checkpoint(ck.load_raw(legacy, mmap=True))  # a VAE, read in full
    assert torch.equal(ck.load_raw(legacy, mmap=True)["vae"]["w"], torch.ones(3))
