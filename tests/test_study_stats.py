"""Study inference on simulated data: a known effect is recovered, no effect finds nothing."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import wilcoxon

from contemo.emotions import EMOTIONS
from contemo.evaluation.study_analysis import apply_exclusions
from contemo.evaluation.study_stats import infer, participant_means, rank_biserial


def simulate(effects: dict[str, float], participants: int = 30, seed: int = 1,
             image_sd: float = 0.0) -> list[dict]:
    """Return answer rows of a Fig. 4 study: 3 real + 3 generated images per emotion.

    Latent agreement: 1.7 for the shown emotion, 4.2 for the others; generated images
    of emotion e are rated `effects[e]` points worse on their own emotion. Participant
    (sd 0.4) and image (`image_sd`) effects and noise (sd 0.7); rounded, clipped to 1-5.
    """
    rng = np.random.default_rng(seed)
    images = [(f"{e[:3]}{s[0]}{k}", e, s) for e in EMOTIONS for s in ("real", "generated")
              for k in range(3)]
    image_effect = {i: rng.normal(0, image_sd) for i, _, _ in images}
    rows = []
    for p in range(participants):
        person = rng.normal(0, 0.4)
        for image_id, shown, source in images:
            for rated in EMOTIONS:
                mean = 1.7 if rated == shown else 4.2
                if source == "generated" and rated == shown:
                    mean += effects.get(shown, 0.0)
                value = mean + person + image_effect[image_id] + rng.normal(0, 0.7)
                rows.append({"participant": p, "image_id": image_id, "source": source,
                             "image_emotion": shown, "rated_emotion": rated,
                             "value": int(np.clip(np.rint(value), 1, 5))})
    return rows


def significant(result: dict) -> set[tuple[str, str]]:
    return {(s, r) for s, cells in result["cells"].items() for r, c in cells.items()
            if c["significant"]}


def test_a_known_effect_is_recovered_and_nothing_else():
    rows = simulate({"happy": 1.2, "fear": 1.0})
    result = infer(rows, n_boot=500)
    assert significant(result) == {("happy", "happy"), ("fear", "fear")}
    assert result["tests"] == 36
    happy = result["cells"]["happy"]["happy"]
    assert happy["n"] == 30 and happy["p_holm"] < 0.001 and happy["mean_diff"] > 0.6
    assert happy["r"] > 0.7 and happy["r_ci"][0] > 0.4  # the CI excludes no effect
    assert happy["p_bh"] <= happy["p_holm"]
    model = result["recognition_mixedlm"]
    assert model["happy"]["estimate"] == pytest.approx(1.2, abs=0.3)
    assert model["happy"]["p"] < 0.001 and model["happy"]["images"] == 6
    assert abs(model["sad"]["estimate"]) < 0.3


def test_the_mixed_model_accounts_for_image_variation():
    """With images that differ (sd 0.3), the paired test generalises only to these images;
    the mixed model's image variance component widens its interval accordingly."""
    rows = simulate({"happy": 1.2}, image_sd=0.3, seed=4)
    result = infer(rows, n_boot=200)
    model = result["recognition_mixedlm"]
    assert model["happy"]["estimate"] == pytest.approx(1.2, abs=0.5) and model["happy"]["p"] < 0.05
    wide = simulate({"happy": 1.2}, image_sd=0.0, seed=4)
    assert model["happy"]["se"] > infer(wide, n_boot=200)["recognition_mixedlm"]["happy"]["se"]


def test_no_effect_finds_none():
    result = infer(simulate({}, seed=2), n_boot=500)
    assert significant(result) == set()
    assert all(c["p_holm"] > 0.05 for cells in result["cells"].values() for c in cells.values())
    assert all(abs(m["estimate"]) < 0.45 for m in result["recognition_mixedlm"].values())


def test_participants_are_aggregated_before_testing():
    rows = simulate({"sad": 1.5}, participants=8)
    means = participant_means(rows)
    assert len(means[("sad", "sad")]) == 8  # one pair per participant, not 8 x 3 answers
    result = infer(rows, n_boot=200, mixed=False)
    cell = result["cells"]["sad"]["sad"]
    diffs = [m["generated"] - m["real"] for m in means[("sad", "sad")].values()]
    assert cell["n"] == 8 and cell["p"] == pytest.approx(wilcoxon(diffs).pvalue, abs=1e-6)


def test_rank_biserial_known_values():
    assert rank_biserial(np.array([1.0, 2.0, -3.0]))[0] == pytest.approx(0.0)
    assert rank_biserial(np.array([1.0, 1.0]))[0] == pytest.approx(1.0)
    assert rank_biserial(np.array([-2.0, -1.0, 0.0]))[0] == pytest.approx(-1.0)
    assert rank_biserial(np.array([0.0, 0.0]))[0] == 0.0


def test_exclusions_are_listed_by_reason():
    base = {"participant_completed": 1, "excluded": 0, "catch_ok": 1, "speeder": 0}
    rows = [{**base, "participant": 1}, {**base, "participant": 2, "catch_ok": 0},
            {**base, "participant": 3, "speeder": 1}, {**base, "participant": 4, "excluded": 1},
            {**base, "participant": 5, "participant_completed": 0}]
    kept, left = apply_exclusions(rows)
    assert [r["participant"] for r in kept] == [1, 5]
    assert left == {"researcher": [4], "failed_catch": [2], "speeder": [3], "incomplete": []}
    kept, left = apply_exclusions(rows, completed_only=True, keep_speeders=True)
    assert [r["participant"] for r in kept] == [1, 3] and left["incomplete"] == [5]
