"""The model's rules: what happens to one nurse, one caseload, one shelf, one group.

Plain Python functions with no SimPy, no compiled code and no arrays of everyone.
The engines decide *when* a rule applies; a rule decides *what* it does:

- :mod:`sim.rules.competency`: a visit's agenda, effort and learning; decay and what
  protects against it; a WhatsApp post; a classroom course; the checklist score.
- :mod:`sim.rules.visits`: a mentor's release days, the window of a round, who is
  visited in what order within her hours and cap, and when each nurse is next due.
- :mod:`sim.rules.whatsapp`: a group's posting rate and which group a new member joins.
- :mod:`sim.rules.supply`: a shelf's deliveries (periodic review, order-up-to, short
  and late deliveries) and its stock-out days.
- :mod:`sim.rules.amenities`: what amenities a facility has, and whether a practice
  that needs one of them can be done there.
- :mod:`sim.rules.graduation`: when a mentee qualifies to mentor others.
- :mod:`sim.rules.costs`: what each event costs and under which ledger category.
"""
