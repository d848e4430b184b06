"""Batches classified ahead in a worker process give what the classifier gives alone.

Every test here starts a real worker process (`python -m adminbot.rules.worker`).
"""

from __future__ import annotations

import logging
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from adminbot.models import LineBatch, Match, Record
from adminbot.rules.ahead import ClassifyAhead
from adminbot.rules.classifier import Classified, Classifier
from adminbot.rules.reference import corpus
from adminbot.rules.ruleset import Rule, RuleSet, build_ruleset
from adminbot.rules.wire import decode, encode
from adminbot.service.metrics import Metrics

SOURCE = "/srv/pipeline/app.log"


def _batches(texts: list[str], size: int, source: str = SOURCE) -> list[LineBatch]:
    batches = []
    for start in range(0, len(texts), size):
        part = texts[start : start + size]
        offsets = [start * 10 + i * 10 for i in range(len(part) + 1)]
        batches.append(LineBatch(source, start + 1, part, offsets))
    return batches


MatchFacts = tuple[str, int, str, str, dict[str, str], str, str | None, object]
ErrorFacts = tuple[str, int, str, str | None, object, object]


def _match_facts(matches: list[Match]) -> list[MatchFacts]:
    return [
        (
            m.record.source,
            m.record.line_no,
            m.rule,
            m.key,
            dict(m.fields),
            m.record.text,
            m.record.level,
            m.record.logged_at,
        )
        for m in matches
    ]


def _error_facts(records: list[Record]) -> list[ErrorFacts]:
    return [(r.source, r.line_no, r.text, r.level, r.logged_at, r.parts) for r in records]


class Run:
    """What a run of batches gave: every result's facts, in order, and the end state."""

    def __init__(self) -> None:
        self.matches: list[MatchFacts] = []
        self.errors: list[ErrorFacts] = []
        self.records = 0

    def add(self, done: Classified) -> None:
        self.matches += _match_facts(done.matches)
        self.errors += _error_facts(done.unmatched_errors)
        self.records += done.records

    def end(self, classifier: Classifier) -> tuple[object, ...]:
        held = classifier.held_line(SOURCE)
        self.add(classifier.flush())
        stats = classifier.stats
        counted = (stats.lines, stats.records, stats.unmatched_errors, dict(stats.matches))
        return (self.matches, self.errors, self.records, held, counted)


def _alone(batches: list[LineBatch], ruleset: RuleSet) -> tuple[object, ...]:
    classifier = Classifier(ruleset)
    run = Run()
    for batch in batches:
        run.add(classifier.feed(batch.source, batch))
    return run.end(classifier)


def _ahead(
    batches: list[LineBatch],
    ahead: ClassifyAhead,
    classifier: Classifier,
    *,
    between: Callable[[int], None] | None = None,
) -> tuple[object, ...]:
    """As the tailer does: each batch prepared one before the one before it is handed over."""
    run = Run()
    if batches:
        ahead.prepare(batches[0].source, batches[0])
    for index, batch in enumerate(batches):
        if index + 1 < len(batches):
            ahead.prepare(batches[index + 1].source, batches[index + 1])
        if between is not None:
            between(index)
        done = ahead.result(batch.source, batch)
        run.add(done if done is not None else classifier.feed(batch.source, batch))
    return run.end(classifier)


@pytest.fixture
def classifier() -> Classifier:
    return Classifier(build_ruleset())


@pytest.fixture
def ahead(classifier: Classifier) -> Iterator[ClassifyAhead]:
    built = ClassifyAhead(classifier, min_bytes=1, reply_seconds=20, retry_seconds=0)
    yield built
    built.close()


@pytest.mark.parametrize("size", [1, 37, 2_000])
def test_a_randomized_corpus_classified_ahead_gives_what_the_classifier_gives(
    size: int, classifier: Classifier, ahead: ClassifyAhead
) -> None:
    texts = corpus(6_000, seed=size)
    batches = _batches(texts, size)
    assert _ahead(batches, ahead, classifier) == _alone(batches, build_ruleset())
    assert ahead.taken == len(batches)  # every batch was the worker's
    assert ahead.worker_pid is not None


def test_small_batches_are_classified_here_and_mixed_runs_still_agree(
    classifier: Classifier,
) -> None:
    """A small batch read ahead of a big one is not sent: the worker could not go on
    from a state this process has not reached yet."""
    texts = corpus(4_000, seed=11)
    sizes = [5, 300, 300, 2, 300, 1, 1, 300, 300]
    batches, start = [], 0
    while start < len(texts):
        for size in sizes:
            part = texts[start : start + size]
            if part:
                offsets = [start * 10 + i * 10 for i in range(len(part) + 1)]
                batches.append(LineBatch(SOURCE, start + 1, part, offsets))
            start += size
    ahead = ClassifyAhead(classifier, min_bytes=1_000)  # 100 lines of 10 bytes
    try:
        assert _ahead(batches, ahead, classifier) == _alone(batches, build_ruleset())
        assert 0 < ahead.taken < len(batches)
    finally:
        ahead.close()


def test_a_refused_batch_is_forgotten_and_classified_again_from_before_it(
    classifier: Classifier, ahead: ClassifyAhead
) -> None:
    """The store refused batch 3: the classifier is put back, what was prepared is
    forgotten, and the tailer offers 3 and 4 again (prepared again)."""
    texts = corpus(3_000, seed=4)
    batches = _batches(texts, 250)
    run = Run()
    ahead.prepare(SOURCE, batches[0])
    index, refused = 0, False
    while index < len(batches):
        if index + 1 < len(batches):
            ahead.prepare(SOURCE, batches[index + 1])
        before = classifier.snapshot(SOURCE)
        done = ahead.result(SOURCE, batches[index]) or classifier.feed(SOURCE, batches[index])
        if index == 3 and not refused:
            refused = True
            classifier.restore(SOURCE, before)
            ahead.forget()
            ahead.prepare(SOURCE, batches[index])
            continue
        run.add(done)
        index += 1
    assert run.end(classifier) == _alone(batches, build_ruleset())
    assert ahead.taken == len(batches) + 1  # the refused one was taken twice


def test_a_worker_killed_midway_loses_nothing_and_a_new_one_takes_over(
    classifier: Classifier, ahead: ClassifyAhead, caplog: pytest.LogCaptureFixture
) -> None:
    texts = corpus(4_000, seed=6)
    batches = _batches(texts, 400)
    pids: list[int | None] = []

    def kill_at_four(index: int) -> None:
        pids.append(ahead.worker_pid)
        if index == 4 and ahead.worker_pid is not None:
            os.kill(ahead.worker_pid, signal.SIGKILL)

    with caplog.at_level(logging.ERROR, logger="adminbot.rules.ahead"):
        got = _ahead(batches, ahead, classifier, between=kill_at_four)
    assert got == _alone(batches, build_ruleset())
    assert "the classifier worker failed" in caplog.text
    assert pids[4] is not None and pids[-1] is not None and pids[-1] != pids[4]
    assert ahead.taken < len(batches)
    shown = Metrics(ahead=ahead.figures).render().decode()
    assert f"adminbot_classified_ahead_batches_total {float(ahead.taken)}" in shown
    assert "adminbot_classifier_worker_failures_total 1.0" in shown
    assert "adminbot_classifier_worker_running 1.0" in shown  # the one that took over


def test_a_worker_that_stops_answering_is_given_up_after_the_reply_time(
    classifier: Classifier, caplog: pytest.LogCaptureFixture
) -> None:
    ahead = ClassifyAhead(classifier, min_bytes=1, reply_seconds=0.5, retry_seconds=3600)
    texts = corpus(2_000, seed=7)
    batches = _batches(texts, 500)

    def stop_at_one(index: int) -> None:
        if index == 1 and ahead.worker_pid is not None:
            os.kill(ahead.worker_pid, signal.SIGSTOP)

    try:
        with caplog.at_level(logging.ERROR, logger="adminbot.rules.ahead"):
            got = _ahead(batches, ahead, classifier, between=stop_at_one)
        assert got == _alone(batches, build_ruleset())
        assert "no answer in 0.5s" in caplog.text
        assert ahead.worker_pid is None  # not retried within retry_seconds
    finally:
        ahead.close()


def test_batches_prepared_under_rules_since_replaced_are_classified_with_the_new(
    classifier: Classifier, ahead: ClassifyAhead
) -> None:
    texts = corpus(3_000, seed=8)
    batches = _batches(texts, 300)
    custom = Rule("zzz_custom", r"download failed")
    newer = build_ruleset([custom])

    def swap_at_five(index: int) -> None:
        if index == 5:
            classifier.ruleset = newer

    got = _ahead(batches, ahead, classifier, between=swap_at_five)
    expected = Classifier(build_ruleset())
    run = Run()
    for index, batch in enumerate(batches):
        if index == 5:
            expected.ruleset = newer
        run.add(expected.feed(SOURCE, batch))
    assert got == run.end(expected)


def test_a_batch_not_prepared_first_is_classified_here(
    classifier: Classifier, ahead: ClassifyAhead
) -> None:
    batches = _batches(corpus(1_000, seed=2), 250)
    ahead.prepare(SOURCE, batches[1])  # the tailer never skips one; a caller might
    assert ahead.result(SOURCE, batches[0]) is None
    assert not ahead.busy


def test_what_a_worker_sends_back_reads_as_the_same_matches_and_errors() -> None:
    classifier = Classifier(build_ruleset())
    texts = corpus(3_000, seed=12)
    done = classifier.feed_texts(SOURCE, texts, 1)
    back, held = decode(SOURCE, encode(done, classifier.held(SOURCE)))
    assert _match_facts(back.matches) == _match_facts(done.matches)
    assert [m.severity for m in back.matches] == [m.severity for m in done.matches]
    assert _error_facts(back.unmatched_errors) == _error_facts(done.unmatched_errors)
    assert back.records == done.records
    assert held == classifier.held(SOURCE)


def test_after_close_nothing_is_prepared_and_no_worker_starts(classifier: Classifier) -> None:
    ahead = ClassifyAhead(classifier, min_bytes=1)
    ahead.close()
    batch = _batches(corpus(500, seed=1), 500)[0]
    ahead.prepare(SOURCE, batch)
    assert not ahead.busy and ahead.worker_pid is None
    assert ahead.result(SOURCE, batch) is None


def test_pipes_that_cannot_hold_two_batches_mean_no_worker_for_good(
    classifier: Classifier, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The kernel's pipe-max-size is the outer edge here: refused as an unprivileged user
    is refused above it. Small pipes could leave both processes waiting on each other."""
    import fcntl

    real = fcntl.fcntl

    def refuse_big_pipes(fd: int, command: int, arg: int = 0) -> int:
        if command == fcntl.F_SETPIPE_SZ:
            raise PermissionError(1, "Operation not permitted")
        return real(fd, command, arg)

    monkeypatch.setattr(fcntl, "fcntl", refuse_big_pipes)
    ahead = ClassifyAhead(classifier, min_bytes=1, retry_seconds=0)
    batches = _batches(corpus(2_000, seed=3), 500)
    with caplog.at_level(logging.ERROR, logger="adminbot.rules.ahead"):
        got = _ahead(batches, ahead, classifier)
    assert got == _alone(batches, build_ruleset())
    assert ahead.taken == 0 and ahead.worker_pid is None
    assert caplog.text.count("classifying in this process from now on") == 1


CHILD = """
import sys, time
from adminbot.models import LineBatch
from adminbot.rules.ahead import ClassifyAhead
from adminbot.rules.classifier import Classifier
from adminbot.rules.ruleset import build_ruleset
ahead = ClassifyAhead(Classifier(build_ruleset()), min_bytes=1)
ahead.prepare("a.log", LineBatch("a.log", 1, ["2026-11-29 10:00:00,000 ERROR x: boom"], [0, 40]))
print(ahead.worker_pid, flush=True)
time.sleep(60)
"""


def test_the_worker_does_not_outlive_a_service_that_was_killed() -> None:
    """SIGKILL leaves no time to stop the worker: it ends when its pipe closes."""
    with subprocess.Popen(
        [sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True
    ) as child:
        assert child.stdout is not None
        worker = psutil.Process(int(child.stdout.readline()))
        assert "adminbot.rules.worker" in worker.cmdline()
        child.send_signal(signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if worker.status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        time.sleep(0.02)
    else:
        worker.kill()
        raise AssertionError("the worker outlived its service")


@pytest.mark.parametrize(
    "sample", sorted(p.name for p in (Path(__file__).parent / "samples").glob("*.log"))
)
def test_every_sample_log_classified_ahead_gives_what_the_classifier_gives(
    sample: str, classifier: Classifier, ahead: ClassifyAhead
) -> None:
    text = (Path(__file__).parent / "samples" / sample).read_text(encoding="utf-8")
    batches = _batches(text.splitlines(), 7)
    assert _ahead(batches, ahead, classifier) == _alone(batches, build_ruleset())
    assert ahead.taken == len(batches)


@pytest.mark.parametrize("seed", range(12))
def test_random_refusals_kills_pass_ends_and_flushes_keep_the_classifiers_alike(seed: int) -> None:
    """The tailer's life at random: batches of 1-400 lines (small ones classified here),
    refusals offering a batch again, passes that end (nothing read ahead) followed by the
    stale-record timer, workers killed. The result must be the plain classifier's fed the
    batches the store took, with the same flushes."""
    rng = random.Random(seed)
    texts = corpus(5_000, seed=100 + seed)
    batches, start = [], 0
    while start < len(texts):
        size = rng.choice([1, 3, 40, 120, 400])
        part = texts[start : start + size]
        batches.append(
            LineBatch(SOURCE, start + 1, part, [10 * (start + i) for i in range(len(part) + 1)])
        )
        start += size
    clock = [0.0]
    got = Classifier(build_ruleset(), monotonic=lambda: clock[0])
    expected = Classifier(build_ruleset(), monotonic=lambda: clock[0])
    ahead = ClassifyAhead(got, min_bytes=500, retry_seconds=0, monotonic=lambda: clock[0])
    run, reference = Run(), Run()
    prepared = -1
    index = 0
    try:
        while index < len(batches):
            clock[0] += 0.01
            if prepared < index:
                ahead.prepare(SOURCE, batches[index])
                prepared = index
            pass_ends = rng.random() < 0.2
            if not pass_ends and index + 1 < len(batches):
                ahead.prepare(SOURCE, batches[index + 1])
                prepared = index + 1
            if rng.random() < 0.05 and ahead.worker_pid is not None:
                os.kill(ahead.worker_pid, signal.SIGKILL)
            before = got.snapshot(SOURCE)
            done = ahead.result(SOURCE, batches[index]) or got.feed(SOURCE, batches[index])
            if rng.random() < 0.1:  # the store refused it: offered again, read ahead again
                got.restore(SOURCE, before)
                ahead.forget()
                prepared = index - 1
                continue
            run.add(done)
            reference.add(expected.feed(SOURCE, batches[index]))
            index += 1
            if pass_ends and not ahead.busy:
                run.add(got.flush_stale(0.0))
                reference.add(expected.flush_stale(0.0))
        assert run.end(got) == reference.end(expected)
        assert ahead.taken > 0
    finally:
        ahead.close()
