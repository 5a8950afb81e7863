"""The fast engine: the rules implemented with arrays, calendars, lazy settlement and
compiled kernels (:mod:`sim.engines.fast.model`); what it relies on is listed in
:mod:`sim.engines.fast.contract`."""
