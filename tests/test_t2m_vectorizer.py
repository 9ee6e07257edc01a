"""The T2M word / POS vectoriser, its token padding and the restricted unpickler."""

from __future__ import annotations

import pickle
import shutil

import numpy as np
import pytest

from esd.evaluation.t2m import safe_pickle, vectorizer
from esd.evaluation.t2m.vectorizer import POS_INDEX, pad_tokens

PADDING = {"sos/OTHER", "eos/OTHER", "unk/OTHER"}


class _CreatesFile:
    """Unpickling this calls open(path, "w"): executing the pickle creates the file."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


# --- restricted unpickler -----------------------------------------------------------------------


def test_plain_pickles_load(tmp_path):
    value = {"walk": 3, "nested": [1, "a", {"b": -(2**70)}], "words": ["sos", "eos"]}
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        path = tmp_path / f"p{protocol}.pkl"
        path.write_bytes(pickle.dumps(value, protocol=protocol))
        assert safe_pickle.load_plain_pickle(path) == value


def test_malicious_pickle_is_refused_and_never_executed(tmp_path):
    victim = tmp_path / "pwned.txt"
    payload = pickle.dumps([_CreatesFile(str(victim))])
    sanity = tmp_path / "sanity.txt"  # the payload really works when unpickled normally
    pickle.loads(pickle.dumps(_CreatesFile(str(sanity)))).close()
    assert sanity.exists()
    path = tmp_path / "our_vab_idx.pkl"
    path.write_bytes(payload)
    with pytest.raises(safe_pickle.UnsafePickleError, match="refused: opcode") as err:
        safe_pickle.load_plain_pickle(path)
    assert "\n" not in str(err.value)
    assert not victim.exists()


@pytest.mark.parametrize(
    "value", [(1, 2), 1.5, {1, 2}, b"bytes", True, None, ["ok", ("tuple",)]], ids=repr
)
def test_other_types_are_refused(tmp_path, value):
    path = tmp_path / "x.pkl"
    path.write_bytes(pickle.dumps(value))
    with pytest.raises(safe_pickle.UnsafePickleError):
        safe_pickle.load_plain_pickle(path)


def test_the_unpickler_itself_refuses_globals(tmp_path):
    # the opcode scan comes first; the unpickler must refuse a global on its own too
    import io

    data = pickle.dumps(_CreatesFile(str(tmp_path / "second.txt")))
    with pytest.raises(safe_pickle.UnsafePickleError, match="refused global"):
        safe_pickle._NoGlobals(io.BytesIO(data)).load()
    assert not (tmp_path / "second.txt").exists()


def test_corrupt_and_missing_pickles(tmp_path):
    path = tmp_path / "x.pkl"
    path.write_bytes(pickle.dumps(["a", "b"])[:-3])
    with pytest.raises(safe_pickle.UnsafePickleError, match="not a readable pickle"):
        safe_pickle.load_plain_pickle(path)
    with pytest.raises(safe_pickle.UnsafePickleError, match="cannot read"):
        safe_pickle.load_plain_pickle(tmp_path / "absent.pkl")


# --- padding ------------------------------------------------------------------------------------


def test_pad_tokens_rules():
    short = ["a/DET", "man/NOUN"]
    padded, cap_len = pad_tokens(short)
    assert len(padded) == 22 and cap_len == 4
    assert padded[:4] == ["sos/OTHER", *short, "eos/OTHER"] and set(padded[4:]) == {"unk/OTHER"}
    nineteen = [f"w{i}/NOUN" for i in range(19)]
    assert pad_tokens(nineteen)[1] == 21 and pad_tokens(nineteen)[0][-1] == "unk/OTHER"
    twenty = [f"w{i}/NOUN" for i in range(20)]
    assert pad_tokens(twenty) == (["sos/OTHER", *twenty, "eos/OTHER"], 22)
    long = [f"w{i}/NOUN" for i in range(30)]
    assert pad_tokens(long) == (["sos/OTHER", *long[:20], "eos/OTHER"], 22)


# --- vectoriser ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def words(salad_fixture_dir):
    return vectorizer.load_word_vectorizer(salad_fixture_dir / "glove")


@pytest.fixture(scope="module")
def reference(salad_fixture_dir):
    with np.load(salad_fixture_dir / "reference" / "evaluator.npz") as data:
        return {key: data[key] for key in data.files}


def test_vocabulary_and_pos_rules(words):
    assert len(words.vocabulary) == 4199 and words.vectors.shape == (4199, 300)
    vec, pos = words("kick/VERB")
    np.testing.assert_array_equal(vec, words.vectors[words.word_to_row["kick"]])
    assert pos.argmax() == POS_INDEX["Act_VIP"] and pos.sum() == 1
    assert words("wave/VERB")[1].argmax() == POS_INDEX["VERB"]
    assert words("or/CCONJ")[1].argmax() == POS_INDEX["OTHER"]
    assert words("left/VERB")[1].argmax() == POS_INDEX["Loc_VIP"]  # VIP whatever the tag
    vec, pos = words("zorblax/VERB")  # out of vocabulary: unk vector, OTHER
    np.testing.assert_array_equal(vec, words.vectors[words.word_to_row["unk"]])
    assert pos.argmax() == POS_INDEX["OTHER"]
    with pytest.raises(ValueError, match="word/POS"):
        words("nopos")


def test_text_inputs_match_the_reference(words, reference):
    token_lists = []
    for joined in reference["token_strings"]:
        token_lists.append([t for t in str(joined).split("_") if t not in PADDING])
    token_lists[0] = [*token_lists[0], "extra/NOUN"]  # case 1 had 21 tokens, cropped to 20
    inputs = words.text_inputs(token_lists, max_text_len=20)
    np.testing.assert_array_equal(inputs.cap_lens, reference["cap_lens"])
    np.testing.assert_allclose(inputs.word_embs, reference["word_embs"], atol=1e-5)
    np.testing.assert_array_equal(inputs.pos_ohot, reference["pos_ohot"])
    for tokens, joined in zip(token_lists, reference["token_strings"], strict=True):
        assert "_".join(pad_tokens(tokens)[0]) == str(joined)


def test_glove_dir_errors(tmp_path, salad_fixture_dir):
    with pytest.raises(vectorizer.GloveError, match="--glove_dir"):
        vectorizer.load_word_vectorizer(tmp_path)
    glove = tmp_path / "glove"
    shutil.copytree(salad_fixture_dir / "glove", glove)
    (glove / "our_vab_words.pkl").write_bytes(pickle.dumps(["sos", "eos", "unk"]))
    with pytest.raises(vectorizer.GloveError, match="disagree"):
        vectorizer.load_word_vectorizer(glove)
    (glove / "our_vab_words.pkl").write_bytes(pickle.dumps(_CreatesFile(str(tmp_path / "x"))))
    with pytest.raises(safe_pickle.UnsafePickleError):
        vectorizer.load_word_vectorizer(glove)
    assert not (tmp_path / "x").exists()
