"""Evidence for an alert: the lines around an occurrence, read back from a watched file."""
