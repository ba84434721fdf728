"""The emotion space: vocabularies, anchors and label vectors (Eq. 1-4)."""

import numpy as np
import pytest

from contemo import emotions as em
from contemo.labels import paths


def test_paper_order_and_vocabularies():
    assert em.EMOTIONS == ("neutral", "sad", "disgust", "fear", "angry", "happy")
    assert em.AFFECTNET_CLASSES[1] == "happy" and em.AFFECTNET_CLASSES[6] == "anger"
    assert sorted(em.FACES_CODES) == ["a", "d", "f", "h", "n", "s"]
    for e in em.EMOTIONS:
        assert em.FROM_AFFECTNET[em.TO_AFFECTNET[e]] == e
        assert em.FACES_CODES[em.FACES_LETTER[e]] == e


def test_anchors_cover_every_category_and_lie_in_range():
    for name in set(em.EMOTIONS) | set(em.AFFECTNET_CLASSES):
        v, a = em.va_anchor(name)
        assert -1 <= v <= 1 and -1 <= a <= 1
    assert em.va_anchor("neutral") == (0.0, 0.0)
    assert em.va_anchor("happy")[0] > 0 > em.va_anchor("sad")[0]
    assert em.anchor_matrix().shape == (6, 2)


def test_neutral_to_is_eq_3_4():
    vs = paths.neutral_to("happy")
    assert vs.shape == (11, 6)
    np.testing.assert_allclose(vs.sum(1), 1.0, atol=1e-6)
    np.testing.assert_allclose(vs[:, 5], np.arange(11) / 10, atol=1e-6)
    np.testing.assert_allclose(vs[:, 0] + vs[:, 5], 1.0, atol=1e-6)  # Eq. 4
    np.testing.assert_array_equal(vs[0], em.one_hot("neutral"))
    np.testing.assert_array_equal(vs[-1], em.one_hot("happy"))
    assert np.all(vs[:, 1:5] == 0)


def test_mix_of_any_two_emotions():
    v = paths.mix("sad", "happy", 0.25)
    np.testing.assert_allclose(v, [0, 0.75, 0, 0, 0, 0.25])
    em.validate_label(v)
    with pytest.raises(em.LabelError, match="outside"):
        paths.mix("sad", "happy", 1.5)


@pytest.mark.parametrize(
    "bad, message",
    [
        ([1, 0, 0, 0, 0], "expected 6 values"),
        ([1.2, -0.2, 0, 0, 0, 0], "must be in \\[0, 1\\]"),
        ([0.5, 0.4, 0, 0, 0, 0], "sum to 1"),
        ([float("nan"), 0, 0, 0, 0, 1], "NaN"),
    ],
)
def test_validation_says_what_is_wrong(bad, message):
    with pytest.raises(em.LabelError, match=message) as info:
        em.validate_label(bad)
    assert "\n" not in str(info.value)


def test_names_and_parsing():
    assert em.canonical_emotion("Anger") == "angry"
    assert em.canonical_emotion("angry", em.AFFECTNET_CLASSES) == "anger"
    with pytest.raises(em.LabelError, match="unknown emotion 'bored'"):
        em.emotion_index("bored")
    np.testing.assert_allclose(em.parse_label("0.2,0,0,0,0,0.8"), [0.2, 0, 0, 0, 0, 0.8])
    with pytest.raises(em.LabelError, match="6 comma-separated"):
        em.parse_label("a,b")


def test_label_va_blends_anchors():
    va = em.label_va(paths.mix("neutral", "happy", 0.5))
    np.testing.assert_allclose(va, np.array(em.va_anchor("happy")) / 2, atol=1e-6)
