"""The daily digest: when it is due, what it tells, and the chart sent with it."""
