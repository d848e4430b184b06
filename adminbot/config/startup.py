"""What is done with a loaded configuration before adminbot runs: the data dir is
created and proved writable, and the demo gets fixes it may safely run.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import replace

from adminbot.config.model import DATA_DIR_ENV, Config
from adminbot.errors import ConfigError
from adminbot.store.files import private_dir

DEMO_RETRY_COMMAND = (sys.executable, "-c", "print('demo: the download was retried')")
"""The demo's retry: a harmless program that succeeds, run as an argv list (no shell)."""


def prepare_data_dir(config: Config) -> None:
    """Create the data dir (and the demo's folders) and prove adminbot can write there."""
    key = config.data_dir_key
    file = None if key == DATA_DIR_ENV else config.source
    path = config.data_dir
    if path.exists() and not path.is_dir():
        raise ConfigError(key, f"{path} is not a folder", file)
    folders = [path, config.demo_folder] if config.demo else [path]
    try:
        private_dir(path)  # the store and logs hold incidents and paths: 0700
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path, prefix=".adminbot-write-test-"):
            pass
        if config.demo:
            config.demo_log.touch()  # watched from the start: no "missing file" warning
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(key, f"cannot create or write to {path}: {reason}", file) from None


def with_demo_remedies(config: Config) -> Config:
    """In the demo, fixes act on a throwaway folder and a harmless retry, so they can run.

    Only for the demo (nothing real is watched): a real log never gets the fake retry.
    """
    if not config.demo:
        return config
    actions = config.actions
    demo_actions = replace(
        actions,
        allowed_folders=(*actions.allowed_folders, config.demo_folder),
        retry_command=actions.retry_command or DEMO_RETRY_COMMAND,
    )
    return replace(config, actions=demo_actions)
