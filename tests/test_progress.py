"""recgym._progress.Progress: tqdm's bar, silent when disabled, nested bars removed when done."""

from __future__ import annotations

import io
import time

from recgym._progress import Progress


def test_a_disabled_bar_writes_nothing():
    stream = io.StringIO()
    bar = Progress(10, "work", enabled=False, stream=stream)
    for done in range(1, 11):
        bar.update(done)
    bar.write("a line", stream)
    assert stream.getvalue() == "a line\n"


def test_an_enabled_bar_counts_to_the_total_and_ends_its_line():
    stream = io.StringIO()
    bar = Progress(4, "work", stream=stream, unit="run")
    for done in range(1, 5):
        bar.update(done)
    text = stream.getvalue()
    assert "work: 100%" in text and "4/4" in text and "run/s" in text
    assert text.endswith("\n")
    bar.close()  # closing twice is harmless
    assert stream.getvalue() == text


def test_a_delayed_bar_stays_silent_for_short_work():
    stream = io.StringIO()
    with Progress(3, "quick", stream=stream, delay=60.0) as bar:
        for done in range(1, 4):
            bar.update(done)
    assert stream.getvalue() == ""


def test_a_delayed_bar_draws_once_the_delay_has_passed():
    stream = io.StringIO()
    with Progress(3, "slow", stream=stream, delay=0.05, interval=0.0) as bar:
        bar.update(1)
        time.sleep(0.1)
        bar.update(2)
    assert "slow:" in stream.getvalue()


def test_a_bar_opened_inside_another_is_removed_when_done():
    outer_stream, inner_stream = io.StringIO(), io.StringIO()
    with Progress(2, "outer", stream=outer_stream) as outer:
        inner = Progress(2, "inner", stream=inner_stream)
        assert inner._bar.leave is False and outer._bar.leave is True
        inner.update(2)
        outer.update(2)
    assert Progress(1, "after", stream=io.StringIO())._bar.leave is True


def test_write_prints_a_line_around_the_bar():
    stream = io.StringIO()
    with Progress(2, "work", stream=stream) as bar:
        bar.write("between", stream)
    assert "between\n" in stream.getvalue()
