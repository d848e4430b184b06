"""`adminbot learn LOGFILE`: record the kinds of error a log already holds, quietly.

Run on a host's existing logs before the first start (or any time after), so that
only kinds never seen before raise a "new kind of error" incident.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from adminbot.kinds.miner import KindMiner
from adminbot.rules.classifier import Classifier
from adminbot.rules.reading import read_blocks
from adminbot.rules.ruleset import RuleSet


@dataclass(frozen=True, slots=True)
class Learnt:
    """What learning one file found."""

    lines: int
    errors: int  # records no rule matched
    new_kinds: int
    kinds: int  # known in all, after


def learn_file(path: Path, ruleset: RuleSet, miner: KindMiner) -> Learnt:
    """Classify `path` from its start and record its unmatched errors' kinds, alerting none.

    Raises OSError if the file cannot be read."""
    classifier = Classifier(ruleset, keys=False)
    before = len(miner)
    lines = errors = 0
    name = str(path)
    for block in read_blocks(path):
        lines += len(block.texts)
        unmatched = classifier.feed_texts(name, block.texts, block.line_no + 1).unmatched_errors
        errors += len(unmatched)
        miner.mine(unmatched, learn=True)
    unmatched = classifier.flush().unmatched_errors
    errors += len(unmatched)
    miner.mine(unmatched, learn=True)
    return Learnt(lines, errors, len(miner) - before, len(miner))
