"""Several hosts, one store: each host's agent, the front's watch over the hosts, remote fixes."""
