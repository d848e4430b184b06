"""The typed context every handler receives: `context.bot_data` holds the runtime."""

from __future__ import annotations

from telegram.ext import CallbackContext, ExtBot

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
