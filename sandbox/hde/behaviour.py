"""The HDE emulator's answers to the vendor's open questions.

Reference: docs/vendors/helpdeskeddy.md §15 (open questions), with the
section of each question beside its switch. The first choice is the default
and is what the emulator did before the switch existed. `sandbox/hde/
README.md` describes every value; `sandbox.behaviour` explains the idea.
"""

from sandbox.behaviour import Switch, Switchboard, store

BOARD = Switchboard("HelpDeskEddy", [
    Switch("tags_on_update", ("stick", "append", "refuse", "ignore"),
           "What PUT /tickets/{id}/ does with `tags` (§5.5: not in every parameter list)."),
    Switch("unknown_custom_fields", ("refuse", "ignore"),
           "Whether unknown custom field ids in a ticket write are refused (§5.5)."),
    Switch("exact_search", ("honoured", "ignored"),
           "Whether GET /users/?exact_search=1 matches whole values (§7, §15.2)."),
    Switch("user_search_phone", ("digits", "ignored"),
           "Whether the user search matches phone digits (§7, §15.3)."),
    Switch("post_author", ("allowed", "ignored"),
           "Whether `user_id` on a new post or comment sets its author (§6)."),
    Switch("date_update_format", ("ymd_hms", "ymd_hm", "dmy_hm", "dmy_hms", "unix"),
           "Format of the dispatcher's {date_update} placeholder (§11.3)."),
    Switch("date_update_timezone", ("local", "utc"),
           "Time zone of the dispatcher's {date_update} placeholder (§11.3, §15.10)."),
])


def validate_behaviour(values) -> None:
    """Validator of `Account.behaviour` (a module function, so migrations
    can name it)."""
    BOARD.field_validator(values)


def set_behaviour(account, *, reset: bool = False, **switches) -> dict:
    """Set switches of an emulator account (an `Account` or its code):
    `set_behaviour("demo", tags_on_update="refuse")`. Returns every switch's
    effective value; `reset=True` first returns all to defaults."""
    from sandbox.hde.models import Account

    if isinstance(account, str):
        account = Account.objects.get(code=account)
    return store(BOARD, account, switches, reset=reset)
