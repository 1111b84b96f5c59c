"""Stage hook: an "implement" stage opens an implementation for every selected project."""

from __future__ import annotations

from civicbudget.cycles.services import register_transition_hook


def _implement(cycle, stage, now) -> None:
    from civicbudget.delivery.services import implementations_open

    implementations_open(actor=None, cycle=cycle, now=now)


register_transition_hook("enter", "implement", _implement)
