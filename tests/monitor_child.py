"""The monitor alone in a child process, for tests that kill it: `python monitor_child.py
DATA_DIR PATTERN read LINES` polls until LINES lines are read, says "ready" and waits
(to be SIGKILLed, no timer flushes a held record); `... finish` reads what is there,
stops like a clean shutdown and prints every incident's rule and record as JSON."""

from __future__ import annotations

import json
import sys
import time

from adminbot.config import load_config
from adminbot.incidents.book import IncidentBook
from adminbot.incidents.intake import EventQueue, Intake
from adminbot.notify.eventlog import EventLog
from adminbot.rules.source import RuleSource
from adminbot.service.monitor import Monitor
from adminbot.store.sqlite import Store


def main(data_dir: str, pattern: str, mode: str, lines: int = 0) -> None:
    config = load_config({"ADMINBOT_WATCH": pattern, "ADMINBOT_DATA_DIR": data_dir})
    config.data_dir.mkdir(exist_ok=True)
    store = Store(config.store_path)
    queue = EventQueue()
    events = EventLog(config.event_log)
    intake = Intake(store, IncidentBook(store), events, queue)
    monitor = Monitor(config, store, intake, RuleSource(config.rules))
    monitor.tailer.poll()
    if mode == "read":
        print("started", flush=True)
        while monitor.stats.lines < lines:
            monitor.tailer.poll()
            time.sleep(0.02)
        print("ready", flush=True)
        time.sleep(60)
        return
    monitor.stop()
    found = [
        {"rule": e.incident.rule, "count": e.incident.count, "text": e.match.record.text}
        for e in queue.drain()
    ]
    print(json.dumps(found), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], *map(int, sys.argv[4:]))
