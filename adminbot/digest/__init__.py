"""The daily digest: when it is due, what it tells, and the chart's series (queued by
`adminbot.notify.digests`)."""
