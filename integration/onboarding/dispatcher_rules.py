"""What an HDE admin pastes into the dispatcher: one rule per event.

The bodies carry only the event name and ids (numbers and a timestamp), so
no subject or message text with quotes can break the JSON; the portal reads
the ticket through the API. The shop's secret travels as the rule's Basic
credentials (user `hde`, password = the secret). The emulator's dispatcher is
wired with these same templates by `manage.py sandbox_seed`.
"""

DISPATCHER_TEMPLATES = {
    # Dispatcher condition "Новая заявка" (new ticket).
    "new_ticket": '{"event": "new_ticket", "ticket_id": "{ticket_id}"}',
    # "Новый ответ в заявке" (new reply): the post id tells replies apart.
    "new_reply": '{"event": "new_reply", "ticket_id": "{ticket_id}", "post_id": "{last_post_id}"}',
    # "Изменения в заявке" (ticket changed): update time and status slug tell
    # changes apart, and let the portal recognise the echo of its own PUT.
    "ticket_changed": (
        '{"event": "ticket_changed", "ticket_id": "{ticket_id}", '
        '"date_update": "{date_update}", "status": "{status_id}"}'
    ),
}
BASIC_USERNAME = "hde"
