"""Regular expressions that a tenant configures, checked when saved and
bounded when run.

Why: a shop's admin types a pattern (the order number pattern) and the
portal runs it on text anyone can write (ticket subjects and bodies), in the
shared workers and in widget and API requests. Python's `re` backtracks: a
pattern such as `^(\\d+)+$` takes minutes on thirty digits and an "x", and
holds a worker (and a core of a two-core machine) all that time. So every
tenant-configured pattern goes through this module, twice:

- **when saved** (`validate_tenant_pattern`, a model field validator, so
  every form that edits the field runs it): at most MAX_PATTERN_LENGTH
  characters; it must compile; no back-references; no quantifier over a
  part that can itself match in several ways (a variable quantifier or an
  alternation inside a repeated group: the shape of catastrophic
  backtracking); and it must finish on a few hostile inputs within the time
  limit below (catches what the shape check misses, e.g. `\\d*\\d*\\d*x`).
- **when run** (`tenant_search`): on at most MAX_INPUT_CHARS characters and
  under a time limit, through the `regex` package, whose matcher checks a
  `timeout` as it goes. A pattern saved before these checks, or one that
  slips through them, then costs at most TIMEOUT_SECONDS a call and finds
  nothing.

Why `regex` and not a linear-time engine (google-re2): RE2 has no
look-arounds and its `\\b` knows only ASCII letters, so Cyrillic order
suffixes (the default pattern's `[А-Яа-я]{0,3}\\b`) would match differently
than the patterns shops already have; `regex` keeps Python's syntax and
meaning and adds the time limit.
"""

import logging
import re

import regex
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

try:  # the parser `re` itself uses; private, so the shape check is optional
    from re import _constants as sre_constants
    from re import _parser as sre_parse
except ImportError:  # pragma: no cover - a Python without it keeps the other checks
    sre_parse = sre_constants = None

logger = logging.getLogger(__name__)

MAX_PATTERN_LENGTH = 200
MAX_INPUT_CHARS = 10_000
TIMEOUT_SECONDS = 0.1
# Inputs on which catastrophic patterns show themselves: long runs of one
# kind of character (digits, letters, spaces, word characters mixed), then
# one that makes the match fail at the very end, alone and followed by the
# pattern's own literal characters (a match that needs a literal is only
# tried when the text has it).
PROBE_RUNS = ("1", "a", "я", " ", "a1", "12-", "1 ", "a.")
PROBE_LENGTH = 3000


def _repeats():
    return {sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT,
            getattr(sre_constants, "POSSESSIVE_REPEAT", sre_constants.MAX_REPEAT)}


def _children(op, av):
    """The sub-patterns of one parsed node."""
    c = sre_constants
    if op in _repeats():
        return [av[2]]
    if op == c.SUBPATTERN:
        return [av[3]]
    if op == c.BRANCH:
        return list(av[1])
    if op in (c.ASSERT, c.ASSERT_NOT):
        return [av[1]]
    if op == getattr(c, "ATOMIC_GROUP", None):
        return [av]
    if op == c.GROUPREF_EXISTS:
        return [part for part in av[1:] if part is not None]
    return []


def _ambiguous(items) -> bool:
    """Whether this part can match one text in several ways: a variable
    quantifier or an alternation anywhere inside it."""
    c = sre_constants
    for op, av in items:
        if op in _repeats() and av[0] != av[1]:
            return True
        if op == c.BRANCH:
            return True
        if any(_ambiguous(child) for child in _children(op, av)):
            return True
    return False


def _shape_problem(items) -> str:
    c = sre_constants
    for op, av in items:
        if op in (c.GROUPREF, c.GROUPREF_EXISTS):
            return "backreference"
        if op in _repeats() and av[1] > 1 and _ambiguous(av[2]):
            return "nested"
        for child in _children(op, av):
            problem = _shape_problem(child)
            if problem:
                return problem
    return ""


def _literals(items) -> str:
    found = []
    for op, av in items:
        if op == sre_constants.LITERAL:
            found.append(chr(av))
        for child in _children(op, av):
            found.append(_literals(child))
    return "".join(found)


def _probes(pattern: str):
    literals = ""
    if sre_parse is not None:
        literals = "".join(dict.fromkeys(_literals(sre_parse.parse(pattern))))[:20]
    for run in PROBE_RUNS:
        body = run * (PROBE_LENGTH // len(run))
        for end in ("x", "!", "x" + literals, "!" + literals):
            yield body + end


def validate_tenant_pattern(pattern: str) -> None:
    """Raise ValidationError (for the person who typed it) unless `pattern`
    is safe to run on anyone's text. See the module docstring."""
    if not pattern:
        return
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ValidationError(_("The pattern is too long: at most %(n)d characters."),
                              params={"n": MAX_PATTERN_LENGTH}, code="pattern_length")
    try:
        re.compile(pattern)
        compiled = regex.compile(pattern)
    except (re.error, regex.error, RecursionError, OverflowError):
        raise ValidationError(_("This is not a valid regular expression."),
                              code="pattern_invalid") from None
    if sre_parse is not None:
        problem = _shape_problem(sre_parse.parse(pattern))
        if problem == "backreference":
            raise ValidationError(_("Back-references are not allowed in this pattern."),
                                  code="pattern_backreference")
        if problem:
            raise ValidationError(_(
                "A repeated group inside another repetition (such as (\\d+)+ or (a|b)*) can "
                "take minutes on some texts; write it without the nesting (e.g. \\d+)."),
                code="pattern_nested")
    for probe in _probes(pattern):
        try:
            compiled.search(probe, timeout=TIMEOUT_SECONDS)
        except TimeoutError:
            raise ValidationError(_(
                "This pattern is too slow on long texts; simplify it (fewer repetitions "
                "in a row)."), code="pattern_slow") from None


def tenant_search(pattern: str, text: str):
    """`regex.search` of a tenant's pattern on (the start of) `text`, bounded
    in time; None for no match, an invalid pattern or a timeout."""
    if not pattern or not text:
        return None
    try:
        return regex.search(pattern, text[:MAX_INPUT_CHARS], timeout=TIMEOUT_SECONDS)
    except TimeoutError:
        logger.warning("tenant_regex.timeout", extra={"pattern_length": len(pattern)})
    except (regex.error, RecursionError, OverflowError):
        pass
    return None
