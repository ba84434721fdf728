"""Metric functions against hand-computed cases, NaN handling and the registry."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from contemo.evaluation import metrics
from contemo.evaluation.metrics import (
    METRICS,
    accuracy,
    ccc,
    class_report,
    macro_f1,
    pcc,
    rmse,
    sagr,
    va_report,
)

X = np.array([-0.9, -0.3, 0.0, 0.2, 0.5, 0.5])


def test_ccc_of_identical_is_one_and_of_negated_zero_mean_is_minus_one():
    assert ccc(X, X) == pytest.approx(1.0)
    centred = X - X.mean()
    assert ccc(-centred, centred) == pytest.approx(-1.0)


def test_small_example_by_hand():
    # p = 1,2,3; t = 2,4,6: means 2 and 4, variances 2/3 and 8/3, covariance 4/3.
    p, t = [1.0, 2.0, 3.0], [2.0, 4.0, 6.0]
    assert ccc(p, t) == pytest.approx((2 * 4 / 3) / (2 / 3 + 8 / 3 + 4))  # = 8/22
    assert ccc(p, t) == pytest.approx(8 / 22)
    assert pcc(p, t) == pytest.approx(1.0)  # PCC forgives scale and bias; CCC does not
    assert rmse(p, t) == pytest.approx(math.sqrt((1 + 4 + 9) / 3))


def test_ccc_punishes_a_constant_offset_that_pcc_ignores():
    assert pcc(X + 0.5, X) == pytest.approx(1.0)
    var = X.var()
    assert ccc(X + 0.5, X) == pytest.approx(2 * var / (2 * var + 0.25))


def test_sagr_counts_sign_agreement_with_zero_only_matching_zero():
    p = [0.5, -0.2, 0.0, 0.1, 0.0]
    t = [0.4, 0.3, 0.0, -0.1, 0.2]
    assert sagr(p, t) == pytest.approx(2 / 5)


def test_nan_pairs_are_left_out_not_scored():
    p = [1.0, 2.0, float("nan"), 3.0]
    t = [1.0, 2.0, 5.0, float("nan")]
    assert ccc(p, t) == pytest.approx(1.0)
    assert rmse(p, t) == 0.0
    for fn in (ccc, rmse, pcc, sagr):
        assert math.isnan(fn([float("nan")] * 3, [1.0, 2.0, 3.0]))


def test_undefined_cases_are_nan_not_made_up():
    assert math.isnan(pcc([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))  # constant prediction
    assert math.isnan(ccc([0.3], [0.3]))  # one pair has no variance
    assert math.isnan(ccc([0.3, 0.3], [0.3, 0.3]))  # 0 / 0
    assert math.isnan(accuracy([0, 1], [-1, -1]))


def test_accuracy_and_macro_f1_by_hand_with_unknown_classes_dropped():
    pred = [0, 1, 1, 2, 0, 2]
    true = [0, 1, 2, 2, -1, -1]  # last two unknown
    assert accuracy(pred, true) == pytest.approx(3 / 4)
    # class 0: tp1 fp0 fn0 -> 1; class 1: tp1 fp1 fn0 -> 2/3; class 2: tp1 fp0 fn1 -> 2/3
    assert macro_f1(pred, true) == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)
    probs = np.eye(3)[pred]
    assert accuracy(probs, true) == accuracy(pred, true)


def test_torch_tensors_and_lists_give_the_same_numbers():
    t = torch.tensor(X, dtype=torch.float32)
    assert ccc(t * 0.8, t) == pytest.approx(ccc(X * 0.8, X), rel=1e-6)
    assert accuracy(torch.tensor([[0.1, 0.9], [0.8, 0.2]]), torch.tensor([1, 1])) == 0.5


def test_registry_names_every_metric_and_reports_carry_counts():
    assert set(METRICS) == {"ccc", "rmse", "pcc", "sagr", "accuracy", "macro_f1"}
    assert metrics.HIGHER_IS_BETTER["rmse"] is False and metrics.HIGHER_IS_BETTER["ccc"]
    va = np.stack([X, -X], 1)
    truth = va.copy()
    truth[0, 1] = np.nan
    report = va_report(va, truth)
    assert report["valence"]["ccc"] == pytest.approx(1.0) and report["valence"]["n"] == 6
    assert report["arousal"]["n"] == 5
    assert class_report([1, 2], [1, -1]) == {"accuracy": 1.0, "macro_f1": 1.0, "n": 1}


def test_shape_mismatches_are_errors():
    with pytest.raises(ValueError, match="3 values"):
        ccc([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        va_report(np.zeros((3, 3)), np.zeros((3, 3)))
