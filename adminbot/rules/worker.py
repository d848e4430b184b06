"""The classifier worker process: `python -m adminbot.rules.worker READ_FD WRITE_FD [GC...]`.

It classifies the batches `adminbot.rules.ahead` sends, in order, and answers each
with its result and the record it holds back after it. It keeps no state the sending
process does not also have: every result carries what it holds back, and a batch that
opens a run carries what to go on from. It ends when the sender closes its pipe. GC are
the sender's collector thresholds (see `adminbot.cli.GC_THRESHOLDS`).

Requests, pickled: `("rules", RuleSet)` and `("feed", source, texts, first_line_no,
now, sync, held)`; `now` is the sender's monotonic time (held records are aged on its
clock), `sync` says whether `held` replaces what this process holds for `source`.
"""

from __future__ import annotations

import contextlib
import gc
import pickle
import signal
import sys
from multiprocessing.connection import Connection

from adminbot.rules.classifier import Classifier
from adminbot.rules.ruleset import RuleSet
from adminbot.rules.wire import encode


def serve(requests: Connection, replies: Connection) -> None:
    """Answer feed requests until the other end closes."""
    now = [0.0]
    classifier: Classifier | None = None
    while True:
        try:
            request = pickle.loads(requests.recv_bytes())  # noqa: S301 - our own process's pipe
        except EOFError:
            return
        if request[0] == "rules":
            ruleset: RuleSet = request[1]
            if classifier is None:
                classifier = Classifier(ruleset, monotonic=lambda: now[0])
            else:
                classifier.ruleset = ruleset
            continue
        if classifier is None:
            raise RuntimeError("a feed request came before the rules")
        _kind, source, texts, first_line_no, now[0], sync, held = request
        if sync:
            classifier.hold(source, held)
        done = classifier.feed_texts(source, texts, first_line_no)
        replies.send_bytes(encode(done, classifier.held(source)))


def main(argv: list[str]) -> int:
    # Ctrl-C in a terminal reaches the whole process group: the sender decides when
    # this process ends (it closes the pipe), so a half-sent batch is never lost here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if len(argv) > 2:
        gc.set_threshold(*(int(value) for value in argv[2:5]))
    requests = Connection(int(argv[0]), writable=False)
    replies = Connection(int(argv[1]), readable=False)
    with contextlib.suppress(BrokenPipeError):  # the sender went away while we answered
        serve(requests, replies)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
