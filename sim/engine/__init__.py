"""The simulation: the Mesa model and its agents, chunked ensembles, the runner and its result."""
