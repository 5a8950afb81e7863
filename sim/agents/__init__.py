"""The agents both engines share: facilities, mentors and a subcounty's WhatsApp groups.

Agents hold state; processes (:mod:`sim.engines.processes` and each engine's own)
change it. A mentee's competency is held differently by each engine: plainly by the
reference engine (:class:`sim.engines.reference.mentee.Mentee`), in arrays by the fast
one (:class:`sim.engines.fast.nurses.Mentee`).
"""
