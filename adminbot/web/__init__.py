"""The web dashboard: pages served by the same process and event loop as the bot."""
