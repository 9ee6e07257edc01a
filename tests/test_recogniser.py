"""Recognition accuracy on labelled real motions (known answers with a stub recogniser)."""

from types import SimpleNamespace

import numpy as np

from esd.evaluation.recogniser import recognition_accuracy


def test_recognition_accuracy_counts_single_and_composed_clips():
    guesses = ["kick", "kick", "jump", "walk", "kick", "punch"]
    stub = SimpleNamespace(names=["walk", "jump", "kick", "punch"], recognise=lambda e: guesses)
    labels = [("kick",), ("jump",), ("jump",), ("walk", "kick"), ("punch", "kick"), ()]
    result = recognition_accuracy(stub, np.zeros((6, 4)), labels)
    assert result["single"] == 2 / 3 and result["single_count"] == 3
    assert result["per_concept"] == {"walk": None, "jump": 0.5, "kick": 1.0, "punch": None}
    assert result["composed"] == 1.0 and result["composed_count"] == 2
    empty = recognition_accuracy(stub, np.zeros((0, 4)), [])
    assert empty["single"] is None and empty["composed"] is None
