"""The typed context every handler receives: `context.bot_data` holds the runtime."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot, JobQueue

from adminbot.service.runtime import Runtime
from handlers.i18n import Catalog


class BotData:
    """What the handlers share: the core, the words in the admin's language, who was refused."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.words = Catalog(runtime.config.language)
        self.strangers: set[int] = set()


def bot_data_for(runtime: Runtime) -> type[BotData]:
    """PTB builds bot_data by calling its type with no arguments; bind the runtime first."""

    class Bound(BotData):
        def __init__(self) -> None:
            super().__init__(runtime)

    return Bound


AdminContext = CallbackContext[ExtBot[None], dict[object, object], dict[object, object], BotData]

# The bot is ExtBot[int]: AIORateLimiter's per-call argument is an int. PTB's stubs give
# the default job queue the default context, not ours, so its parameter stays Any.
AdminApplication = Application[
    ExtBot[int], AdminContext, dict[object, object], dict[object, object], BotData, JobQueue[Any]
]
