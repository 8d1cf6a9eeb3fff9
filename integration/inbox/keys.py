"""Delivery keys of HDE ticket events, in one place.

The webhook receiver stores each delivery under its key, reconciliation
stores a missed ticket under the same key (so a late webhook and the
reconciler can't both run the job), and the card's progress strip finds a
ticket's events by them:

- `new_ticket:<id>`: a ticket is created once;
- `new_reply:<id>:<post id or digest>` and `ticket_changed:<id>:<update time
  and status, or digest>`: each reply or change once.
"""

from django.db.models import Q

NEW_TICKET = "new_ticket"


def ticket_event_key(event_type: str, ticket_id: int, distinct: str = "") -> str:
    """The key a delivery is stored under (see the module docstring); for
    anything but a new ticket, `distinct` tells deliveries apart."""
    if event_type == NEW_TICKET:
        return f"{NEW_TICKET}:{ticket_id}"
    return f"{event_type}:{ticket_id}:{distinct}"


def ticket_events_q(ticket_id: int) -> Q:
    """Every stored event about one ticket, whatever its kind."""
    return (Q(source_key=ticket_event_key(NEW_TICKET, ticket_id))
            | Q(source_key__startswith=f"new_reply:{ticket_id}:")
            | Q(source_key__startswith=f"ticket_changed:{ticket_id}:"))
