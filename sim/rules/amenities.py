"""A facility's amenities (running water, hand sanitiser, electricity, gas), and whether a
practice that needs them can be done there.

* **What a facility has.** Each amenity is present with its subcounty's share
  (``subcounties[].amenities``), independently of the others, drawn once per replicate
  from the facility's own stream (``facility.amenities``): one uniform per amenity, in
  :data:`sim.config.AMENITIES` order, and the facility has the amenity if its uniform
  is below the share. Raising a share therefore only adds facilities that have it
  (common random numbers), and a subcounty whose shares are all 0 or 1 needs no draw.
* **What a practice needs.** A survey item's ``needs`` lists alternatives, any one of
  which suffices (hand washing: running water or sanitiser). Where a facility has none
  of them the practice cannot be done, whatever the nurse knows: the virtual survey
  (:mod:`sim.survey`) observes it as not done.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from sim.config import AMENITIES

if TYPE_CHECKING:
    from sim.config import Amenities


def certain(shares: Amenities) -> bool:
    """Whether every share is 0 or 1, so that what each facility has needs no draw."""
    return all(getattr(shares, a) in (0.0, 1.0) for a in AMENITIES)


def present(shares: Amenities, u: Sequence[float]) -> frozenset[str]:
    """The amenities a facility has: each whose uniform draw in ``u`` (one per amenity, in
    :data:`~sim.config.AMENITIES` order, each in [0, 1)) is below its share. Where the
    shares are :func:`certain`, any ``u`` gives the same (zeros, say)."""
    return frozenset(a for a, x in zip(AMENITIES, u, strict=True) if x < getattr(shares, a))


def able(needs: Sequence[str] | None, has: Collection[str]) -> bool:
    """Whether a practice that needs any one of ``needs`` (None: nothing) can be done at a
    facility that has ``has``."""
    return not needs or any(a in has for a in needs)
