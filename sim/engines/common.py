"""What both engines' models do alike: the interventions' services and mentors' posts.

:class:`Common` implements the parts of :class:`~sim.engines.interface.Engine` that do
not depend on how an engine holds a mentee's competency. An engine's model subclasses
it and provides the rest, with the state it names here: ``config``, ``env``,
``streams``, ``ledger``, ``record``, ``facilities`` (and ``by_id``, the same by facility
id), ``mentors``, ``networks`` and :meth:`stop_rounds`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim import interventions
from sim.agents.mentor import Mentor
from sim.config import AMENITIES
from sim.engines import processes
from sim.engines.interface import NurseRef
from sim.engines.plan import Plan
from sim.record import MentorRow
from sim.rules import amenities, costs, visits

if TYPE_CHECKING:
    import simpy

    from sim.agents.facility import Facility
    from sim.scenarios import Site

_NO_DRAW = (0.0,) * len(AMENITIES)  # where every share is 0 or 1 (sim.rules.amenities.present)


class Common:
    """Shared parts of an engine's model (see the module's docstring)."""

    months_waited: dict[int, simpy.Event]  # month -> the event interventions wait for
    _next_mentor: int  # the next mentor's id

    def start_programme(self) -> simpy.Process:
        """Start the programme's processes, in one order for both engines (it orders their
        simultaneous events): the mentors of the subcounties in from day 0, the scale-up
        plan, the groups' openings, the classroom, the interventions; and the calendar,
        returned (the run ends with it)."""
        cfg = self.config
        for s, joined in enumerate(self.joined):
            if joined:
                processes.start_mentors(self, s)
        self.plan = Plan(self) if cfg.scaleup is not None else None
        for s in range(len(cfg.subcounties)):
            self.process(processes.whatsapp_opens(self, s))
        if cfg.classroom.enabled:
            self.process(processes.courses(self, cfg.classroom))
        for spec in cfg.interventions:
            self.process(interventions.build(spec).run(self))
        return self.process(processes.calendar(self))

    def draw_amenities(self, layout: list[Site]) -> list[frozenset[str]]:
        """What each facility has (:mod:`sim.rules.amenities`), by facility id, drawn once
        from its own stream (``facility.amenities``), which no other process reads, and
        recorded. Facilities of a subcounty whose shares are all 0 or 1 draw nothing: what
        they have is certain."""
        subs = self.config.subcounties
        drawn = [site for site in layout if not amenities.certain(subs[site.subcounty].amenities)]
        streams = self.streams.once({"facility.amenities": [s.key for s in drawn]})
        u = {site.id: rng.random(len(AMENITIES)).tolist()
             for site, rng in zip(drawn, streams["facility.amenities"], strict=True)}
        self.record.amenities = [amenities.present(subs[site.subcounty].amenities,
                                                   u.get(site.id, _NO_DRAW)) for site in layout]
        return self.record.amenities

    def month(self, month: int) -> simpy.Event:
        """The event of ``month``'s start (made when first asked for, so a run without
        interventions has none); the calendar triggers it."""
        if month not in self.months_waited:
            self.months_waited[month] = self.env.event()
        return self.months_waited[month]

    def enrolled(self) -> list[NurseRef]:
        return [NurseRef(f.mentee.id, f.id, f.subcounty)
                for facs in self.facilities for f in facs if f.mentee is not None]

    def charge(self, who: str, subcounty: int, ksh: float) -> None:
        self.ledger.post(self.env.now, "interventions", who, subcounty, ksh)

    def enrolled_mentee(self, ref: NurseRef) -> Any:
        """The engine's mentee an intervention names, if she is enrolled now."""
        mentee = self.by_id[ref.facility].mentee
        if mentee is None or mentee.id != ref.nurse:
            raise ValueError(f"nurse {ref.nurse} is not enrolled now")
        return mentee

    def new_mentor(self, slot: int, key: tuple[int, ...], subcounty: int,
                   caseload: list[Facility], origin: str = "recruit") -> Mentor:
        """A mentor takes up a caseload slot after her orientation: her release weekdays
        drawn (:func:`sim.rules.visits.release_weekdays`), the orientation charged, and she
        joins her subcounty's groups."""
        m = self.config.mentor
        weekdays = visits.release_weekdays(self.streams("mentor.weekdays", *key),
                                           m.home_session_days_per_week, m.release_days_per_week)
        mentor = Mentor(self._next_mentor, slot, key, subcounty, caseload, weekdays,
                        self.env.now, origin)
        self._next_mentor += 1
        self.mentors[subcounty].append(mentor)
        for f in caseload:
            f.mentor = mentor
        for charge in costs.orientation(self.config.costs):
            self.ledger.post(self.env.now, charge.category, mentor.who, subcounty, charge.ksh)
        self.networks[subcounty].add_mentor(mentor)
        return mentor

    def mentor_leaves(self, mentor: Mentor, reason: str | None) -> None:
        """She leaves her slot (recorded); her caseload waits for a replacement."""
        mentor.active = False
        self.stop_rounds(mentor)
        for f in mentor.caseload:
            f.mentor = None
        self.networks[mentor.subcounty].remove_mentor(mentor)
        self.record.mentors.append(MentorRow(mentor.subcounty, mentor.slot, mentor.id,
                                             len(mentor.caseload), mentor.start, self.env.now,
                                             reason, mentor.origin))

    def stop_rounds(self, mentor: Mentor) -> None:
        """Her rounds end (the engine's own way)."""
        raise NotImplementedError
