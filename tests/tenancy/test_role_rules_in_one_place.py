"""Role rules live in `integration/tenancy/access.py` only.

Why: the same rule written in several places drifts (an admin screen let
viewers do what the API refused). Every "who may" question about roles is a
function of access.py; this test reads the product's code and fails on any
query that filters by role elsewhere, so a new screen cannot grow its own.
`tenancy/roles.py` maps roles to Django permission groups (which models a
role may change), and the models define the field: both are the rules'
definition, not a second copy.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "integration"
ALLOWED = {"tenancy/access.py", "tenancy/roles.py"}
# A query or comparison on a membership's role: a filter or exclude on
# `role`/`role__in` (over several lines too), `memberships__role…`,
# `.role == …`, or the edit roles themselves.
ROLE_RULE = re.compile(
    r"(?:filter|exclude)\((?:[^()]|\([^()]*\))*?\brole(?:__\w+)?\s*="
    r"|memberships__role|\.role\s*(?:==|!=|\bin\b)|\bEDIT_ROLES\b")


def _product_files():
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT).as_posix()
        if relative in ALLOWED or relative.startswith(("migrations/", "models/")):
            continue
        yield relative, path.read_text(encoding="utf-8")


def test_no_role_rule_outside_access():
    found = [f"{name}:{text.count(chr(10), 0, match.start()) + 1}: {match.group(0)[:80]}"
             for name, text in _product_files() for match in ROLE_RULE.finditer(text)]
    assert found == [], "Role rules belong in integration/tenancy/access.py:\n" + "\n".join(found)


def test_the_check_sees_a_rule_written_elsewhere():
    """The pattern itself: each shape a role rule has taken before, and
    what is not one (a form's choices, creating a membership, an SVG role)."""
    for code in ("Membership.objects.filter(user=u, role__in=EDIT_ROLES)",
                 "Agency.objects.filter(memberships__user=u, memberships__role=Role.OWNER)",
                 "if membership.role == Role.VIEWER:",
                 "Membership.objects.filter(agency_id=a,\n    role__in=[Role.OWNER, Role.ADMIN])"):
        assert ROLE_RULE.search(code), code
    for code in ('role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)',
                 "Membership.objects.create(agency=a, user=u, role=role)",
                 '<svg role="img">'):
        assert not ROLE_RULE.search(code), code
