"""esd.motion.humanml3d (folder validation, split loading, captions, normalisation),
esd.motion.split_cache (the consolidated split cache) and esd.motion.dataset (torch dataset)."""

import json
import os
import time
import warnings

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from esd.motion import humanml3d as data
from esd.motion.dataset import MotionDataset, collate_motions
from esd.motion.humanml3d import DatasetError, MotionFolder
from esd.motion.skeleton import FEATURE_DIM
from esd.motion.split_cache import RawClip, read_cache, write_cache
from tests.fakes import write_fake_humanml3d

LENGTHS = (60, 80, 100, 45, 120, 70, 90, 50, 64, 130)  # train = first 6, val 2, test 2


@pytest.fixture
def folder(tmp_path):
    return write_fake_humanml3d(tmp_path / "h3d", lengths=LENGTHS)


# --- layout validation --------------------------------------------------------------------------


def test_missing_folder_and_subfolders_are_explained(tmp_path, folder):
    with pytest.raises(DatasetError, match=r"does not exist.*esd\.corpus"):
        MotionFolder(tmp_path / "nowhere")
    (folder / "new_joint_vecs").rename(folder / "elsewhere")
    with pytest.raises(DatasetError, match=r"no new_joint_vecs/ folder.*HumanML3D folder"):
        MotionFolder(folder)


def test_missing_texts_and_split_files(folder):
    for split in ("train", "val", "test"):
        (folder / f"{split}.txt").unlink()
    with pytest.raises(DatasetError, match="no split file"):
        MotionFolder(folder)
    (folder / "texts").rename(folder / "t")
    with pytest.raises(DatasetError, match="no texts/ folder"):
        MotionFolder(folder)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("Mean.npy", np.zeros(10, np.float32), "must hold 263 finite"),
        ("Mean.npy", np.full(FEATURE_DIM, np.nan, np.float32), "must hold 263 finite"),
        ("Std.npy", np.zeros(FEATURE_DIM, np.float32), "non-positive entry at dim 0"),
    ],
)
def test_bad_statistics(folder, name, value, message):
    np.save(folder / name, value)
    with pytest.raises(DatasetError, match=message):
        MotionFolder(folder)


def test_missing_and_corrupt_statistics(folder):
    (folder / "Std.npy").write_bytes(b"not numpy")
    with pytest.raises(DatasetError, match=r"not a readable .npy"):
        MotionFolder(folder)
    (folder / "Std.npy").unlink()
    with pytest.raises(DatasetError, match=r"no Std.npy"):
        MotionFolder(folder)


def test_mean_std_and_optional_files(folder):
    f = MotionFolder(folder)
    assert f.mean.shape == f.std.shape == (FEATURE_DIM,) and f.mean.dtype == np.float32
    assert f.labels["000001"]["concepts"] == ["kick"]
    assert set(f.heldout) == {"walk", "kick", "wave"}
    assert f.manifest["clips"] == len(LENGTHS)
    bare = write_fake_humanml3d(folder.parent / "bare", lengths=LENGTHS, corpus_files=False)
    b = MotionFolder(bare)
    assert b.labels is None and b.heldout is None and b.manifest is None
    assert all(r.concepts == () for r in b.load_split("train"))


# --- splits -------------------------------------------------------------------------------------


def test_split_ids_and_errors(folder):
    f = MotionFolder(folder)
    assert f.split_ids("train") == [f"{i:06d}" for i in range(6)]
    (folder / "val.txt").write_text("\n000006\n\n 000007 \n")
    assert f.split_ids("val") == ["000006", "000007"]
    with pytest.raises(DatasetError, match=r"no split 'dev'.*available: test, train, val"):
        f.split_ids("dev")
    (folder / "test.txt").write_text("\n\n")
    with pytest.raises(DatasetError, match="lists no clip ids"):
        f.load_split("test")


def test_load_split_records_captions_and_concepts(folder):
    records = MotionFolder(folder).load_split("train")
    by_id = {r.id: r for r in records}
    # 6 clips, all >= 40 frames; clips 2 and 4 (>= 100 frames) add a sub-clip [10, 60)
    assert sorted(by_id) == sorted(
        [f"{i:06d}" for i in range(6)] + ["000002@10-60", "000004@10-60"]
    )
    whole = by_id["000001"]
    assert whole.captions == ("a person does kick number 1", "someone does kick 1")
    assert whole.concepts == ("kick",)
    raw = np.load(folder / "new_joint_vecs" / "000001.npy")
    np.testing.assert_array_equal(whole.features, raw)
    assert whole.features.dtype == np.float32 and not whole.features.flags.writeable
    sub = by_id["000002@10-60"]
    assert sub.captions == ("the first part of clip 2",) and sub.concepts == ("wave",)
    full = np.load(folder / "new_joint_vecs" / "000002.npy")
    np.testing.assert_array_equal(sub.features, full[10:60])


def test_min_and_max_frames(folder):
    f = MotionFolder(folder)
    short = f.load_split("train", min_frames=61)  # drops 60, 45 frames and the 50-frame sub-clips
    assert sorted(r.id for r in short) == ["000001", "000002", "000004", "000005"]
    cropped = f.load_split("train", max_frames=64)
    assert max(r.num_frames for r in cropped) == 64
    longest = next(r for r in cropped if r.id == "000004")
    full = np.load(folder / "new_joint_vecs" / "000004.npy")
    np.testing.assert_array_equal(longest.features, full[:64])  # the first max_frames frames
    with pytest.raises(DatasetError, match="min_frames=500"):
        f.load_split("train", min_frames=500, max_frames=600)
    with pytest.raises(ValueError, match="min_frames <= max_frames"):
        f.load_split("train", min_frames=100, max_frames=50)


def test_limit_and_progress(folder):
    calls = []
    records = MotionFolder(folder).load_split("train", limit=2, progress=lambda *a: calls.append(a))
    assert [r.id for r in records] == ["000000", "000001"]
    assert calls[0] == (0, 2) and calls[-1] == (2, 2)


def test_missing_files_name_first_id_and_count(folder):
    (folder / "new_joint_vecs" / "000003.npy").unlink()
    (folder / "texts" / "000005.txt").unlink()
    with pytest.raises(DatasetError, match=r"2 of 6 ids.*first: new_joint_vecs/000003\.npy"):
        MotionFolder(folder).load_split("train")


def test_bad_feature_shape_and_nan_clip(folder):
    np.save(folder / "new_joint_vecs" / "000000.npy", np.zeros((50, 10), np.float32))
    with pytest.raises(DatasetError, match=r"000000\.npy has shape \(50, 10\)"):
        MotionFolder(folder).load_split("train")
    bad = np.ones((50, FEATURE_DIM), np.float32)
    bad[3, 7] = np.nan
    np.save(folder / "new_joint_vecs" / "000000.npy", bad)
    with pytest.warns(RuntimeWarning, match="skipped 1 clip.*first: 000000"):
        records = MotionFolder(folder).load_split("train")
    assert "000000" not in {r.id for r in records}


def test_load_joints_of_clip_and_subclip(folder):
    f = MotionFolder(folder)
    joints = np.load(folder / "new_joints" / "000002.npy")
    np.testing.assert_array_equal(f.load_joints("000002"), joints)
    np.testing.assert_array_equal(f.load_joints("000002@10-60"), joints[10:60])
    with pytest.raises(DatasetError, match="joints are optional"):
        f.load_joints("999999")


def test_read_npy_matches_np_load(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {
        "c": rng.normal(size=(7, FEATURE_DIM)).astype(np.float32),
        "f64": rng.normal(size=(5, 3)),
        "fortran": np.asfortranarray(rng.normal(size=(4, 6)).astype(np.float32)),
        "ints": np.arange(12, dtype=">i4").reshape(3, 4),
    }
    for name, array in arrays.items():
        np.save(tmp_path / f"{name}.npy", array)
        got = data.read_npy(tmp_path / f"{name}.npy")
        assert got.dtype == array.dtype and got.shape == array.shape
        np.testing.assert_array_equal(got, array)
    raw = (tmp_path / "c.npy").read_bytes()
    (tmp_path / "cut.npy").write_bytes(raw[:-10])
    with pytest.raises(ValueError):
        data.read_npy(tmp_path / "cut.npy")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="Python objects"):
        data.read_npy(tmp_path / "obj.npy")


# --- caption parsing ----------------------------------------------------------------------------


def test_parse_captions_time_ranges():
    text = (
        "a man walks.#a/DET man/NOUN walk/VERB#0.0#0.0\n"
        "\n"
        "he turns.#he/PRON turn/VERB#1.15#3.0\n"  # 1.15 * 20 = 22.999...: rounds to 23
        "then sits.#x#2.0#nan\n"  # NaN end: to the end of the clip
        "whole again.#x#0.0#nan\n"
        "bare caption\n"
    )
    assert data.parse_captions(text) == [
        ("a man walks.", 0, -1),
        ("he turns.", 23, 60),
        ("then sits.", 40, -1),
        ("whole again.", 0, -1),
        ("bare caption", 0, -1),
    ]


def test_parse_captions_errors():
    with pytest.raises(DatasetError, match="line 1 has 3 '#'-fields"):
        data.parse_captions("a#b#0.0\n")
    with pytest.raises(DatasetError, match="line 2: time 'soon' is not a number"):
        data.parse_captions("ok#x#0#0\nbad#x#soon#1.0\n")


def test_subclip_to_end_and_full_range_merge(folder):
    clip = folder / "texts" / "000004.txt"  # 120 frames = 6 s
    clip.write_text("whole#x#0.0#0.0\nall of it#x#0.0#6.0\nthe end#x#3.0#nan\nshort#x#1.0#2.0\n")
    records = {r.id: r for r in MotionFolder(folder).load_split("train")}
    assert records["000004"].captions == ("whole", "all of it")
    assert records["000004@60-120"].captions == ("the end",)
    assert "000004@20-40" not in records  # 20 frames < min_frames


# --- cache --------------------------------------------------------------------------------------


def _no_file_reads(monkeypatch):
    def fail(self, clip_id):
        raise AssertionError(f"read {clip_id} from disk although the cache is valid")

    monkeypatch.setattr(MotionFolder, "_read_clip", fail)


def _same_records(a, b):
    assert [r.id for r in a] == [r.id for r in b]
    for x, y in zip(a, b):
        assert x.captions == y.captions and x.concepts == y.concepts
        np.testing.assert_array_equal(x.features, y.features)


def test_cache_round_trip_and_is_used(folder, monkeypatch):
    plain = MotionFolder(folder).load_split("train")
    first = MotionFolder(folder, use_cache=True).load_split("train")
    names = sorted(p.name for p in (folder / "cache").iterdir())
    assert len(names) == 2 and names[0].endswith(".features.npy") and names[1].endswith(".npz")
    _no_file_reads(monkeypatch)
    cached = MotionFolder(folder, use_cache=True).load_split("train")
    _same_records(plain, first)
    _same_records(plain, cached)
    assert not cached[0].features.flags.writeable


def test_cache_invalidated_by_changed_clip_and_split(folder, monkeypatch):
    MotionFolder(folder, use_cache=True).load_split("train")
    path = folder / "new_joint_vecs" / "000001.npy"
    np.save(path, np.full((70, FEATURE_DIM), 7.0, np.float32))
    later = time.time() + 5
    os.utime(path, (later, later))  # a distinct mtime even on coarse-clock filesystems
    records = MotionFolder(folder, use_cache=True).load_split("train")
    assert next(r for r in records if r.id == "000001").features[0, 0] == 7.0
    (folder / "train.txt").write_text("000001\n000002\n")
    assert len(MotionFolder(folder, use_cache=True).load_split("train")) == 3
    assert len(list((folder / "cache").iterdir())) == 2  # stale versions removed
    _no_file_reads(monkeypatch)
    assert len(MotionFolder(folder, use_cache=True).load_split("train")) == 3


def test_cache_keeps_other_splits_and_survives_corruption(folder):
    MotionFolder(folder, use_cache=True).load_split("train")
    MotionFolder(folder, use_cache=True).load_split("val")
    assert len(list((folder / "cache").iterdir())) == 4
    for index in (folder / "cache").glob("train-*.index.npz"):
        index.write_bytes(b"garbage")
    records = MotionFolder(folder, use_cache=True).load_split("train")
    assert len(records) == 8
    np.load(next((folder / "cache").glob("train-*.index.npz")))  # rewritten, readable


def test_cache_write_failure_is_a_warning(folder, monkeypatch):
    def refuse(*args):
        raise OSError("read-only file system")

    monkeypatch.setattr(data, "write_cache", refuse)
    with pytest.warns(UserWarning, match="could not write the dataset cache"):
        records = MotionFolder(folder, use_cache=True).load_split("train")
    assert len(records) == 8


def test_split_cache_round_trip_unicode_and_stale_key(tmp_path):
    rng = np.random.default_rng(0)
    clips = [
        RawClip(f"clip{i}", rng.normal(size=(n, FEATURE_DIM)).astype(np.float32), text)
        for i, (n, text) in enumerate([(5, "a café walk#x#0.0#0.0\n"), (3, ""), (7, "ü → 1\n")])
    ]
    write_cache(tmp_path, "train", "0" * 20, clips)
    back = read_cache(tmp_path, "train", "0" * 20)
    assert [(c.id, c.text) for c in back] == [(c.id, c.text) for c in clips]
    for a, b in zip(clips, back):
        np.testing.assert_array_equal(a.features, b.features)
    assert read_cache(tmp_path, "train", "1" * 20) is None  # another key: not cached
    write_cache(tmp_path, "train", "1" * 20, clips[:1])
    assert read_cache(tmp_path, "train", "0" * 20) is None  # the older version was removed
    assert len(read_cache(tmp_path, "train", "1" * 20)) == 1


# --- normalisation ------------------------------------------------------------------------------


def test_normalize_round_trip_numpy_and_torch(folder):
    f = MotionFolder(folder)
    x = np.random.default_rng(0).normal(size=(2, 5, FEATURE_DIM)).astype(np.float32)
    z = data.normalize(x, f.mean, f.std)
    np.testing.assert_allclose(z, (x - f.mean) / f.std, rtol=1e-6)
    np.testing.assert_allclose(data.denormalize(z, f.mean, f.std), x, atol=1e-5)
    zt = data.normalize(torch.from_numpy(x), f.mean, f.std)
    assert isinstance(zt, torch.Tensor) and zt.dtype == torch.float32
    np.testing.assert_allclose(zt.numpy(), z, rtol=1e-6)
    back = data.denormalize(zt, torch.tensor(f.mean), torch.tensor(f.std))
    np.testing.assert_allclose(back.numpy(), x, atol=1e-5)
    with pytest.raises(ValueError, match="do not match"):
        data.normalize(np.zeros((3, 10)), f.mean, f.std)


# --- torch dataset ------------------------------------------------------------------------------


def _dataset(folder, **kwargs):
    f = MotionFolder(folder)
    records = f.load_split("train")
    return records, MotionDataset(records, f.mean, f.std, **kwargs), f


def test_dataset_items_are_cropped_normalised_slices(folder):
    records, ds, f = _dataset(folder, seed=3)
    assert len(ds) == len(records)
    for index, record in enumerate(records):
        item = ds[index]
        assert item.length == record.num_frames - record.num_frames % 4 == item.features.shape[0]
        assert item.caption in record.captions and item.id == record.id
        expected = (record.features - f.mean) / f.std  # find the crop among all offsets
        offsets = range(record.num_frames - item.length + 1)
        matches = [o for o in offsets if np.allclose(expected[o : o + item.length], item.features)]
        assert matches, f"item {index} is not a normalised crop of its record"


def test_dataset_training_randomness_is_seeded_per_epoch(folder):
    records, ds, _ = _dataset(folder, seed=1)
    index = next(i for i, r in enumerate(records) if r.id == "000005")  # 70 frames: 3 offsets
    again = MotionDataset(records, ds.mean, ds.std, seed=1)
    assert torch.equal(ds[index].features, again[index].features)
    seen_offsets, seen_captions = set(), set()
    for epoch in range(12):
        ds.set_epoch(epoch)
        item = ds[index]
        full = (records[index].features - ds.mean) / ds.std
        offset = next(o for o in range(3) if np.allclose(full[o : o + item.length], item.features))
        seen_offsets.add(offset)
        seen_captions.add(item.caption)
    assert len(seen_offsets) > 1 and seen_captions == set(records[index].captions)


def test_dataset_deterministic_mode(folder):
    records, ds, _ = _dataset(folder, deterministic=True, seed=2)
    first = [ds[i] for i in range(len(ds))]
    ds.set_epoch(5)
    for i, item in enumerate(first):
        assert torch.equal(ds[i].features, item.features) and ds[i].caption == item.caption
        expected = (records[i].features[: item.length] - ds.mean) / ds.std  # offset 0
        np.testing.assert_allclose(item.features.numpy(), expected, rtol=1e-6)


def test_dataset_bad_inputs(folder):
    records, ds, _ = _dataset(folder)
    with pytest.raises(ValueError, match="at least one record"):
        MotionDataset([], ds.mean, ds.std)
    with pytest.raises(ValueError, match="mean/std must be"):
        MotionDataset(records, ds.mean[:10], ds.std)
    tiny = data.MotionRecord("x", np.zeros((3, FEATURE_DIM), np.float32), ("c",))
    with pytest.raises(ValueError, match="shorter than unit_length=4"):
        MotionDataset([tiny], ds.mean, ds.std)


def test_collate_pads_and_masks(folder):
    records, ds, _ = _dataset(folder, deterministic=True)
    index = {r.id: i for i, r in enumerate(records)}
    items = [ds[index[i]] for i in ("000000", "000001", "000003")]  # 60, 80, 44 (45 - 45 % 4)
    batch = collate_motions(items)
    assert batch.features.shape == (3, 80, FEATURE_DIM) and batch.features.dtype == torch.float32
    assert batch.lengths.tolist() == [60, 80, 44] and batch.lengths.dtype == torch.long
    assert batch.mask.sum(1).tolist() == [60, 80, 44]
    assert torch.all(batch.features[~batch.mask] == 0)
    assert torch.equal(batch.features[2, :44], items[2].features)
    assert batch.captions == [i.caption for i in items] and batch.ids == [i.id for i in items]
    with pytest.raises(ValueError, match="empty"):
        collate_motions([])


def test_dataloader_end_to_end(folder):
    _, ds, _ = _dataset(folder)
    loader = DataLoader(ds, batch_size=4, shuffle=False, collate_fn=collate_motions)
    batches = list(loader)
    assert sum(len(b.ids) for b in batches) == len(ds)
    assert all(b.features.shape[1] == int(b.lengths.max()) for b in batches)


# --- real data ----------------------------------------------------------------------------------


def test_official_clip_and_statistics_load(tmp_path, official_sample):
    root = tmp_path / "official"
    for sub in ("new_joint_vecs", "texts"):
        (root / sub).mkdir(parents=True)
    np.save(root / "new_joint_vecs" / "012314.npy", official_sample["features"])
    (root / "texts" / "012314.txt").write_text("a person walks.#a/DET person/NOUN#0.0#nan\n")
    (root / "test.txt").write_text("012314\n")
    np.save(root / "Mean.npy", official_sample["mean"])
    np.save(root / "Std.npy", official_sample["std"])
    f = MotionFolder(root)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (record,) = f.load_split("test")
    assert record.num_frames == 170 and record.captions == ("a person walks.",)
    item = MotionDataset([record], f.mean, f.std, deterministic=True)[0]
    assert item.length == 168
    assert float(item.features.abs().mean()) < 3.0  # official stats put it on a unit-ish scale
    assert json.dumps(record.concepts) == "[]"
