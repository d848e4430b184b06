"""Kinds of error no rule knows: masked, mined into templates, alerted once per new kind.

mask (what varies, hidden) → drain (templates) → miner (stored kinds, incidents);
tally counts kinds without a store (check-rules), learn records a file's kinds quietly.
"""
