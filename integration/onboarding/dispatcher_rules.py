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

# HDE's own words for the dispatcher, as its (Russian) interface and
# knowledge base write them (docs/vendors/helpdeskeddy.md §11; HDE's articles
# on dispatcher conditions and on webhooks). Quoted verbatim in both
# languages of the portal: the person looks for exactly these in HDE.
HDE_MENU_DISPATCHER = "Управление → Диспетчер"
HDE_REQUIRED_CONDITIONS = "Обязательные условия"
HDE_ACTION_WEBHOOK = "Отправить вебхук"
HDE_CONDITIONS = {
    "new_ticket": "Новая заявка",
    "new_reply": "Новый ответ в заявке",
    "ticket_changed": "Изменения в заявке",
}
# One rule per event: HDE's name of its required condition, and the body.
DISPATCHER_RULES = [
    {"event": event, "condition": HDE_CONDITIONS[event], "body": body}
    for event, body in DISPATCHER_TEMPLATES.items()
]
