"""What each event costs: the amounts the engines post to the ledger, by category.

Mentoring's costs are those the pilot recorded (``costs``): transport and lunch per
visit, airtime a month per mentor and per group member, coordination a month per
subcounty in the programme, orientation per new mentor. The classroom comparator's
(``classroom``) are per diem and travel per trainee, the venue and facilitators per
course day, and the sessions lost while a facility's only immunizing nurse is away.
Interventions added from YAML post their own costs under ``interventions``. An
amount of zero is not posted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from sim.config import Classroom, Costs

CATEGORIES: tuple[str, ...] = (
    "transport",
    "lunch",
    "mentor_airtime",
    "mentee_airtime",
    "orientation",
    "coordination",
    "course_per_diem",
    "course_travel",
    "course_venue",
    "course_facilitators",
    "lost_sessions",
    "interventions",  # what rules added from YAML cost (sim.interventions)
)


class Charge(NamedTuple):
    category: str  # one of CATEGORIES
    ksh: float


def _nonzero(*charges: Charge) -> list[Charge]:
    return [c for c in charges if c.ksh]


def visit(costs: Costs) -> list[Charge]:
    """A mentoring visit: the mentor's transport and lunch."""
    return _nonzero(Charge("transport", costs.transport_per_visit),
                    Charge("lunch", costs.lunch_per_visit))


def orientation(costs: Costs) -> list[Charge]:
    """A mentor taking up a caseload is oriented first."""
    return _nonzero(Charge("orientation", costs.orientation_per_mentor))


def coordination_month(costs: Costs) -> list[Charge]:
    """A month of a subcounty in the programme."""
    return _nonzero(Charge("coordination", costs.coordination_per_subcounty_month))


def mentor_month(costs: Costs) -> list[Charge]:
    """A month of an active mentor."""
    return _nonzero(Charge("mentor_airtime", costs.mentor_airtime_per_month))


def member_month(costs: Costs) -> list[Charge]:
    """A month of a mentee in a WhatsApp group."""
    return _nonzero(Charge("mentee_airtime", costs.mentee_airtime_per_month))


def trainee(course: Classroom, nurses_at_facility: int, sessions_per_week: float) -> list[Charge]:
    """A nurse on a course: per diem and travel, and the sessions her facility cannot hold
    while she is away if she is its only immunizing nurse (a session day's value each)."""
    days = course.course_days
    lost = days * sessions_per_week / 5.0 if nurses_at_facility == 1 else 0.0
    return _nonzero(Charge("course_per_diem", course.per_diem_per_day * days),
                    Charge("course_travel", course.travel_per_trainee),
                    Charge("lost_sessions", course.lost_session_cost * lost))


def cohort(course: Classroom) -> list[Charge]:
    """A cohort's course: the venue and the facilitators for its days."""
    days = course.course_days
    return _nonzero(Charge("course_venue", course.venue_per_day * days),
                    Charge("course_facilitators",
                           course.facilitators * course.facilitator_fee_per_day * days))
