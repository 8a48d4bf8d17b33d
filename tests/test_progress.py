"""Progress: a bar on a terminal, one line per stage in a log."""

from __future__ import annotations

import io

import pytest
from tqdm.auto import tqdm

from hypseg.progress import progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_off_a_terminal_a_stage_is_one_line_without_carriage_returns():
    log = io.StringIO()
    seen = list(progress(range(500), desc="embedding", unit="tile", stream=log))
    assert seen == list(range(500))
    text = log.getvalue()
    assert "\r" not in text and text.count("\n") == 1
    assert text.startswith("embedding: 500/500 tile in ") and text.endswith(" s\n")


def test_a_counted_stage_reports_its_count_and_last_values():
    log = io.StringIO()
    with progress(total=10, initial=4, desc="training", unit="step", stream=log) as bar:
        for _ in range(6):
            bar.update(1)
        bar.set_postfix(loss="0.5")
    assert log.getvalue().startswith("training: 10/10 step in ")
    assert log.getvalue().endswith(" s, loss=0.5\n")


def test_an_inner_stage_prints_nothing_off_a_terminal():
    log = io.StringIO()
    list(progress(range(3), desc="tiles", leave=False, stream=log))
    assert log.getvalue() == ""


def test_on_a_terminal_it_is_a_tqdm_bar():
    terminal = _Terminal()
    bar = progress(range(3), desc="loading", unit="vol", stream=terminal)
    assert isinstance(bar, tqdm)
    assert list(bar) == [0, 1, 2]
    assert "loading" in terminal.getvalue() and "\r" in terminal.getvalue()


def test_off_a_terminal_a_stage_that_fails_prints_no_line():
    log = io.StringIO()
    with pytest.raises(ValueError):
        for _ in progress(range(3), desc="loading", unit="vol", stream=log):
            raise ValueError("a bad volume")
    with pytest.raises(KeyError):
        with progress(total=2, desc="clustering", unit="stage", stream=log) as stage:
            stage.update(1)
            raise KeyError("x")
    assert log.getvalue() == ""
    with progress(total=1, desc="clustering", unit="stage", stream=log) as stage:
        stage.update(1)
    assert log.getvalue().startswith("clustering: 1/1 stage in ")


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    """A clock the test moves, and a process that has printed no stage line yet."""
    from hypseg import progress as module

    clock = _Clock()
    monkeypatch.setattr("hypseg.progress.time.perf_counter", clock)
    monkeypatch.setattr(module, "_SILENCE", module._Silence())
    return clock


def test_off_a_terminal_a_long_stage_prints_how_far_it_got_once_a_minute(clock):
    log = io.StringIO()
    for _ in progress(range(5), desc="embedding", unit="chunk", stream=log):
        clock.now += 25.0  # each chunk takes 25 s: a line after chunk 3 (75 s); the closing one after chunk 5
    assert log.getvalue().splitlines() == ["embedding: 3/5 chunk after 75.0 s", "embedding: 5/5 chunk in 125.0 s"]
    log = io.StringIO()
    with progress(total=4, desc="training", unit="step", stream=log) as bar:
        for _ in range(4):
            clock.now += 40.0
            bar.update(1)
    assert log.getvalue().splitlines() == ["training: 2/4 step after 80.0 s", "training: 4/4 step in 160.0 s"]


def test_a_long_inner_stage_prints_its_running_lines_but_no_closing_one(clock):
    log = io.StringIO()
    for _ in progress(range(3), desc="embedding at p = 5", unit="tile", leave=False, stream=log):
        clock.now += 100.0
    assert log.getvalue().splitlines() == ["embedding at p = 5: 1/3 tile after 100.0 s", "embedding at p = 5: 2/3 tile after 200.0 s"]


def test_the_minute_runs_from_the_last_line_of_any_stage_or_the_start_of_the_outermost(clock):
    """One volume: its outer stage counts no unit for minutes while its patch sides' tile stages, one after the
    other, each shorter than a minute from its own start, run inside it."""
    log = io.StringIO()
    with progress(total=1, desc="embedding", unit="vol", stream=log) as volumes:
        for _ in progress(range(3), desc="embedding at p = 10", unit="tile", leave=False, stream=log):
            clock.now += 8.0  # 24 s: no line
        for _ in progress(range(6), desc="embedding at p = 5", unit="tile", leave=False, stream=log):
            clock.now += 10.0  # tiles end at 34, 44, 54, 64, 74, 84 s
        volumes.update(1)
    assert log.getvalue().splitlines() == ["embedding at p = 5: 4/6 tile after 40.0 s", "embedding: 1/1 vol in 84.0 s"]
    from hypseg import progress as module

    assert not list(module._SILENCE.running)  # every stage closed
