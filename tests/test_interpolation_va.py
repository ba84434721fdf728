"""VA targeting: anchors map to their one-hot labels, unreachable targets clip to the nearest point."""

from __future__ import annotations

import numpy as np
import pytest

from contemo.emotions import EMOTIONS, VA_ANCHORS, label_va, one_hot
from contemo.errors import ContemoError
from contemo.labels.va import sectors, va_to_label


@pytest.mark.parametrize("emotion", EMOTIONS)
def test_anchor_round_trip(emotion):
    t = va_to_label(*VA_ANCHORS[emotion])
    np.testing.assert_allclose(t.label, one_hot(emotion), atol=1e-6)
    assert not t.clipped
    np.testing.assert_allclose(t.achieved, VA_ANCHORS[emotion], atol=1e-9)


def test_inside_target_is_reached_exactly_and_label_is_valid():
    t = va_to_label(-0.55, 0.45)
    assert not t.clipped and t.neighbours == ("fear", "disgust")
    assert abs(t.label.sum() - 1) < 1e-6 and t.label.min() >= 0
    np.testing.assert_allclose(label_va(t.label), (-0.55, 0.45), atol=1e-6)


def test_unreachable_target_goes_to_nearest_reachable_point():
    t = va_to_label(1.0, 1.0)
    assert t.clipped
    np.testing.assert_allclose(t.label, one_hot("happy"), atol=1e-6)
    # The calm quadrant has no training emotion: its nearest reachable point lies on an edge.
    calm = va_to_label(0.5, -0.5)
    assert calm.clipped and np.hypot(*np.subtract(calm.achieved, (0.5, -0.5))) > 0.3


def test_measured_anchors_are_used():
    measured = {e: (0.5 * v, 0.5 * a) for e, (v, a) in VA_ANCHORS.items()}
    t = va_to_label(*measured["sad"], anchors=measured)
    np.testing.assert_allclose(t.label, one_hot("sad"), atol=1e-6)
    assert ("disgust", "sad") in sectors(measured)


def test_bad_targets_are_one_line():
    for bad in ((1.5, 0.0), (0.0, float("nan"))):
        with pytest.raises(ContemoError):
            va_to_label(*bad)
    with pytest.raises(ContemoError, match="missing"):
        va_to_label(0, 0, anchors={"neutral": (0, 0)})


def test_a_model_of_neutral_and_happy_reaches_the_segment_between_them():
    """No triangle exists with one extreme emotion: the Neutral->happy segment is the region."""
    hv, ha = VA_ANCHORS["happy"]
    on_line = va_to_label(0.5 * hv, 0.5 * ha, among=("neutral", "happy"))
    assert not on_line.clipped
    assert on_line.label[EMOTIONS.index("happy")] == pytest.approx(0.5)
    assert on_line.label[0] == pytest.approx(0.5) and on_line.label.sum() == pytest.approx(1.0)
    off = va_to_label(-0.5, 0.2, among=("neutral", "happy"))  # behind neutral: clipped to it
    assert off.clipped and off.label[0] == pytest.approx(1.0)
    assert np.count_nonzero(off.label) == 1
