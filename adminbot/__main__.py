"""`python -m adminbot` is the same as the `adminbot` console script."""

from adminbot.cli import console

console()
