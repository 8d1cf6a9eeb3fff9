"""Per-account "vendor behaviour" switches, shared by both emulators.

Why: our clients and our emulators were written from the same notes, so they
agree by construction. Where the vendor's real behaviour is an open question
(the vendor notes' "open questions" sections), an emulator account can be
switched to each plausible answer, so the product is tested under every one
of them instead of under the one we happened to guess.

Each emulator declares its switches on a `Switchboard` (see
`sandbox/retailcrm/behaviour.py`, `sandbox/hde/behaviour.py`); an account
stores only the switches that differ from the default in one JSON field
(`Account.behaviour`). The first choice of every switch is the default and is
the emulator's behaviour before the switch existed. Three ways to set them:
the ORM (`set_behaviour(...)` of either emulator), the seed (`AccountPlan.
behaviour`, `sandbox.hde.seed.seed(behaviour=...)`, `sandbox_seed
--behaviour`), and HTTP (`POST /sandbox/<vendor>/<account>/_behaviour`).
"""

import json
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt


class BehaviourError(ValueError):
    """An unknown switch or a value it does not offer."""


@dataclass(frozen=True)
class Switch:
    name: str
    # The first choice is the default: what the emulator did before.
    choices: tuple[str, ...]
    help: str

    @property
    def default(self) -> str:
        return self.choices[0]


class Switchboard:
    """The switches of one emulator and the rules for storing them."""

    def __init__(self, vendor: str, switches: list[Switch]):
        self.vendor = vendor
        self.switches = {switch.name: switch for switch in switches}

    def choices(self) -> dict[str, list[str]]:
        return {name: list(switch.choices) for name, switch in self.switches.items()}

    def defaults(self) -> dict[str, str]:
        return {name: switch.default for name, switch in self.switches.items()}

    def validate(self, values) -> dict[str, str]:
        """`values` cleaned to the stored form: known names, offered values,
        defaults dropped (an account stores only what differs)."""
        if not isinstance(values, dict):
            raise BehaviourError(f"{self.vendor} behaviour must be an object of switches")
        clean = {}
        for name, value in values.items():
            switch = self.switches.get(name)
            if switch is None:
                raise BehaviourError(f"unknown {self.vendor} behaviour switch {name!r}; "
                                     f"known: {', '.join(sorted(self.switches))}")
            if value not in switch.choices:
                raise BehaviourError(f"{self.vendor} behaviour {name!r} has no value {value!r}; "
                                     f"choices: {', '.join(switch.choices)}")
            if value != switch.default:
                clean[name] = value
        return clean

    def field_validator(self, values) -> None:
        """For the model field, so `full_clean()` and the admin refuse a typo."""
        try:
            self.validate(values)
        except BehaviourError as error:
            raise ValidationError(str(error)) from error

    def effective(self, stored) -> dict[str, str]:
        """Every switch with its value for an account (defaults filled in)."""
        return {**self.defaults(), **self.validate(stored or {})}

    def value(self, stored, name: str) -> str:
        """One switch of an account. A stored typo (written with `.update()`,
        which skips validation) fails loudly rather than silently meaning
        the default."""
        switch = self.switches[name]
        value = (stored or {}).get(name, switch.default)
        if value not in switch.choices:
            raise BehaviourError(f"{self.vendor} account stores {name}={value!r}; "
                                 f"choices: {', '.join(switch.choices)}")
        return value


def store(board: Switchboard, account, values: dict, *, reset: bool = False) -> dict:
    """Merge `values` into the account's switches (or replace them all with
    `reset`), validate, save; returns the effective switches."""
    merged = dict(values) if reset else {**(account.behaviour or {}), **values}
    account.behaviour = board.validate(merged)
    account.save(update_fields=["behaviour"])
    return board.effective(account.behaviour)


def behaviour_view(board: Switchboard, find_account, unknown_account):
    """`GET|POST /sandbox/<vendor>/<account>/_behaviour` (not a vendor API).

    GET shows every switch with its current value and its choices. POST takes
    form fields or a JSON object of `switch: value` pairs and merges them into
    the account's switches; `reset=1` (or `"reset": true`) first returns every
    switch to its default.
    """

    @csrf_exempt
    def view(request, account: str):
        row = find_account(account)
        if row is None:
            return unknown_account(request)
        if request.method == "POST":
            try:
                if request.content_type == "application/json":
                    values = json.loads(request.body or b"{}")
                else:
                    values = request.POST.dict()
                if not isinstance(values, dict):
                    raise BehaviourError("the body must be an object of switches")
                reset = str(values.pop("reset", "")).lower() in ("1", "true", "yes")
                store(board, row, values, reset=reset)
            except (BehaviourError, ValueError) as error:
                return JsonResponse({"success": False, "errorMsg": str(error),
                                     "choices": board.choices()}, status=400)
        elif request.method != "GET":
            return JsonResponse({"success": False, "errorMsg": "GET or POST only."},
                                status=405)
        return JsonResponse({"behaviour": board.effective(row.behaviour),
                             "choices": board.choices()})

    return view
