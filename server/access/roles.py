"""The role sets: who, by their role in a campaign, may do what (written once, here).

Roles come from ``server.access.auth.role_in``: ``admin`` (server-wide), and per
campaign ``organizer``, ``coordinator``, ``volunteer``.
"""

from __future__ import annotations

from server.access.accounts import CAMPAIGN_ROLES, ROLES

__all__ = ["ROLES", "CAMPAIGN_ROLES", "MEMBERS", "READERS", "WRITERS", "ROSTER_READERS", "UNFILTERED"]

MEMBERS = ROLES  # anyone with a role in the campaign
READERS = ("admin", "coordinator", "organizer")  # read the campaign through REST; volunteers sync
WRITERS = ("admin", "coordinator")  # change the campaign (turfs, households, assignments, forms, records)
ROSTER_READERS = ("admin", "organizer")  # see roster data: residents' names, phones, e-mails, consent
UNFILTERED = frozenset(ROSTER_READERS)  # read every document of the campaign, on every path
