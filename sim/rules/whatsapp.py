"""A subcounty's WhatsApp groups: who joins which group, and how often a group posts.

Members are the subcounty's mentors and enrolled mentees; a group holds at most
``whatsapp.member_cap``. A mentee is an active member when her engagement draw is
below ``whatsapp.active_probability``; mentors, who moderate, always are. A group
posts as a Poisson process at a rate proportional to its active members; each
post covers one area drawn uniformly (its effect: :func:`sim.rules.competency.post`).
"""

from __future__ import annotations

from collections.abc import Sequence

OPEN_NEW = -1  # place(): open a new group
WAIT = -2  # place(): wait for a place, first come first served


def place(sizes: Sequence[int], cap: int, split_at_cap: bool) -> int:
    """Where a new member goes: the first group with room, else a new group (with
    ``whatsapp.split_at_cap``, or when there is none yet), else the waiting list."""
    for k, size in enumerate(sizes):
        if size < cap:
            return k
    return OPEN_NEW if split_at_cap or not sizes else WAIT


def rate_per_member(posts_per_active_member_per_week: float, moderation_effect: float) -> float:
    """Posts a day per active member (``whatsapp.posts_per_active_member_per_week``), damped
    when a supervisor moderates (``whatsapp.moderation_effect``)."""
    return posts_per_active_member_per_week / 7.0 * moderation_effect


def rate(per_member: float, active_mentees: int, mentors: int) -> float:
    """A group's posts a day: its active members (every mentor is active) at the rate of each."""
    return per_member * (active_mentees + mentors)


def active(engagement: float, active_probability: float) -> bool:
    """Whether a mentee follows her group: her uniform engagement draw is below the
    probability, so raising it only ever adds members (common random numbers)."""
    return engagement < active_probability
