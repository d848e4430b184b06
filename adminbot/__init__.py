"""adminbot: watch a Telegram media pipeline's logs, classify failures, help the admin fix them."""

__version__ = "0.1.0"
