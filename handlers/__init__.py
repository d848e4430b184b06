"""The thin Telegram layer: commands, button callbacks and message views."""
