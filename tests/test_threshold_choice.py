"""Dev threshold choice (training/thresholds.py): the bootstrap median sits inside the F plateau
and holds still when a few dev items change, where the single argmax jumps."""

from __future__ import annotations

import numpy as np

from training.thresholds import Goal, _best_f, choose_threshold


def _flat_dev(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Positives spread over 0.2-0.9 and negatives over 0.0-0.3 plus a few stray high ones:
    F1 is nearly flat for thresholds between ~0.2 and ~0.3."""
    rng = np.random.default_rng(seed)
    y = np.r_[np.ones(40, dtype=np.int64), np.zeros(400, dtype=np.int64)]
    p = np.r_[rng.uniform(0.2, 0.9, 40), rng.uniform(0.0, 0.3, 400)]
    return y, p


def test_threshold_is_inside_the_range_and_describes_its_rule():
    y, p = _flat_dev(0)
    t, how = choose_threshold(y, p, Goal("max_f1"))
    assert 0.15 <= t <= 0.35
    assert "bootstrap" in how and "F1" in how


def test_bootstrap_threshold_moves_less_than_the_argmax_when_dev_changes():
    moves_boot, moves_argmax = [], []
    for seed in range(6):
        y, p = _flat_dev(seed)
        y2, p2 = y.copy(), p.copy()
        p2[:3] = np.random.default_rng(100 + seed).uniform(0.2, 0.9, 3)  # three positives rescored
        moves_boot.append(abs(choose_threshold(y, p, Goal("max_f1"))[0] - choose_threshold(y2, p2, Goal("max_f1"))[0]))
        moves_argmax.append(abs(_best_f(y, p, 1.0) - _best_f(y2, p2, 1.0)))
    assert np.mean(moves_boot) <= np.mean(moves_argmax)


def test_precision_goal_and_one_class_dev_are_unchanged():
    y, p = _flat_dev(1)
    t, how = choose_threshold(y, p, Goal("precision", 0.95))
    assert "precision >= 0.95" in how
    assert choose_threshold(np.zeros(5, dtype=np.int64), np.linspace(0, 1, 5), Goal("max_f1"))[0] == 0.5
