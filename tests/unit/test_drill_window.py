"""The link-cut drill's loss window, from ping's answer times (govnet.lab.drills._window): the gap across the cut,
and a loss still open when the run ends is an error, never a short window."""

from __future__ import annotations

import pytest

from govnet.lab.drills import _window
from govnet.lab.errors import LabError


def answers(start: float, stop: float, step: float = 0.01) -> list[float]:
    return [round(start + i * step, 3) for i in range(round((stop - start) / step) + 1)]


def test_the_window_is_the_gap_across_the_cut() -> None:
    stamps = answers(100.0, 101.0) + answers(101.5, 103.0)
    assert _window(stamps, cut_at=101.0, ended=103.0, interval=0.01, what="h → s") == pytest.approx(0.49)


def test_a_gap_before_the_cut_is_not_the_window() -> None:
    stamps = answers(100.0, 100.2) + answers(100.9, 101.0) + answers(101.1, 103.0)
    assert _window(stamps, cut_at=101.0, ended=103.0, interval=0.01, what="h → s") == pytest.approx(0.09)


def test_traffic_that_never_came_back_is_an_error() -> None:
    stamps = answers(100.0, 101.0)
    with pytest.raises(LabError, match=r"h → s: no answers in the last 6\.0 s .* did not come back"):
        _window(stamps, cut_at=101.0, ended=107.0, interval=0.01, what="h → s")


def test_traffic_that_came_back_briefly_then_stopped_is_an_error() -> None:
    stamps = answers(100.0, 101.0) + answers(101.2, 101.3)
    with pytest.raises(LabError, match="did not come back"):
        _window(stamps, cut_at=101.0, ended=107.0, interval=0.01, what="h → s")


def test_no_answers_before_the_cut_is_an_error() -> None:
    with pytest.raises(LabError, match="no answers before the cut"):
        _window(answers(102.0, 103.0), cut_at=101.0, ended=103.0, interval=0.01, what="h → s")
