"""Agreement metrics on hand-worked examples."""
import pytest

from annotation.services.agreement import (
    coders_by_units_to_units, krippendorff_alpha_nominal, majority, percent_agreement, preferences,
)


def test_alpha_matches_krippendorff_2011_nominal_example_with_missing_data():
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers, 12 units,
    # values 1-5, missing data; the paper's nominal alpha is 0.743.
    m = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],  # observer A
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],  # observer B
        [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],  # observer C
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],  # observer D
    ]
    assert krippendorff_alpha_nominal(coders_by_units_to_units(m)) == pytest.approx(0.743, abs=5e-4)


def test_alpha_hand_worked_binary():
    # Units (a,a) (a,b) (b,b): o_ab = o_ba = 1, n_a = n_b = 3, n = 6.
    # alpha = 1 - (n-1) * 2 / (2 * 3 * 3) = 1 - 5 * 2 / 18 = 4/9.
    assert krippendorff_alpha_nominal([["a", "a"], ["a", "b"], ["b", "b"]]) == pytest.approx(4 / 9)


def test_alpha_perfect_undefined_and_unpairable():
    assert krippendorff_alpha_nominal([[1, 1], [2, 2, 2]]) == pytest.approx(1.0)
    assert krippendorff_alpha_nominal([[1, 1], [1, 1]]) is None  # no variation: undefined
    assert krippendorff_alpha_nominal([[1], [2], [None, 3]]) is None  # nothing pairable


def test_percent_agreement_and_majority():
    # (a,a,b): 1 of 3 pairs agree; (c,c): 1 of 1.
    assert percent_agreement([["a", "a", "b"], ["c", "c"]]) == pytest.approx(2 / 4)
    assert majority(["a", "a", "b"]) == "a"
    assert majority(["a", "b"]) is None
    assert majority([]) is None


def test_preferences_from_ranking_and_from_best_worst():
    assert preferences([2, 0, 1], None, None, [0, 1, 2]) == {(0, 1): 0, (0, 2): 2, (1, 2): 2}
    # best 1, worst 2 of {0,1,2}: 1 > 0, 1 > 2, 0 > 2.
    assert preferences([], 1, 2, [0, 1, 2]) == {(0, 1): 1, (1, 2): 1, (0, 2): 0}
    # only best: pairs without it are unknown.
    assert preferences([], 0, None, [0, 1, 2]) == {(0, 1): 0, (0, 2): 0}
