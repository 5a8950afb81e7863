"""The reference engine: the model in plain SimPy on :mod:`sim.rules`, written to be read
and changed first (see :mod:`sim.engines.reference.model`)."""
