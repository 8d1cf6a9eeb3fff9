"""A shop's History (Django's `LogEntry`) in the reader's language.

Django words a change message when it is read, from field labels it stored
in English ("Changed Timezone for RetailCRM connection …"), and a message of
our own given to `log_change` is stored already worded, in the language of
whoever acted. Either way a Russian reader met English, or Russian words in
a grammar that did not fit ("Изменено Timezone у подключение RetailCRM").

So: our own entries are stored as a message id and its values
(`history_note`), worded when read; Django's entries are read here with
their stored labels mapped back to the models' own field and model names in
the reader's language, in phrasings that suit any noun ("Changed fields:
Time zone and Currency.", "Added: webhook secret “…4f2a”.").
"""

import json
from functools import lru_cache

from django.apps import apps
from django.utils.text import capfirst, get_text_list
from django.utils.translation import get_language, gettext, ngettext, override

NOTE = "note"


def history_note(text: str, *, words: tuple[str, ...] = (), **params) -> str:
    """The change message to give `log_change`: `text` is an English message
    id (marked with gettext_noop where written), `params` its values, and
    `words` names the values that are message ids themselves (a label)."""
    with override(None):  # a label given as a value is kept as its message id
        params = {key: str(value) for key, value in params.items()}
        text = str(text)
    return json.dumps([{NOTE: {"text": text, "params": params, "words": list(words)}}],
                      ensure_ascii=False)


@lru_cache(maxsize=8)
def _names(language: str) -> dict[str, str]:
    """Stored English field labels and model names → the reader's words. A
    field with no verbose name was stored by its name ("Timezone"), and a
    form's own label that no model has is looked up in the catalog."""
    names = {}
    for model in apps.get_models():
        fields = [field for field in model._meta.get_fields() if hasattr(field, "verbose_name")]
        with override(None):
            english = [str(model._meta.verbose_name),
                       *(capfirst(str(field.verbose_name)) for field in fields)]
            by_name = ["", *(capfirst(field.name.replace("_", " ")) for field in fields)]
        with override(language):
            local = [str(model._meta.verbose_name),
                     *(capfirst(str(field.verbose_name)) for field in fields)]
        for stored, default, words in zip(english, by_name, local, strict=True):
            names.setdefault(stored, words)
            if default:
                names.setdefault(default, words)
    return names


def _word(stored: str) -> str:
    return _names(get_language() or "en").get(stored) or gettext(stored)


def _note(note: dict) -> str:
    params = {key: gettext(value) if key in note.get("words", ()) else value
              for key, value in note.get("params", {}).items()}
    try:
        return gettext(note["text"]) % params
    except (KeyError, TypeError, ValueError):  # a value missing: the words, never a 500
        return gettext(note["text"])


def _changed(changed: dict) -> str:
    fields = [_word(name) for name in changed.get("fields", [])]
    listed = get_text_list(fields, gettext("and"))
    if "name" in changed:
        return ngettext("%(name)s “%(object)s”: changed field %(fields)s.",
                        "%(name)s “%(object)s”: changed fields %(fields)s.", len(fields)) % {
            "name": capfirst(_word(changed["name"])), "object": changed.get("object", ""),
            "fields": listed}
    return ngettext("Changed field: %(fields)s.", "Changed fields: %(fields)s.",
                    len(fields)) % {"fields": listed}


def history_words(entry) -> str:
    """One History entry's message, worded now in the reader's language."""
    raw = entry.change_message or ""
    if not raw.startswith("["):
        return gettext(raw) if raw else ""  # an older entry: as written
    try:
        parts = json.loads(raw)
    except ValueError:
        return raw
    said = []
    for part in parts:
        if NOTE in part:
            said.append(_note(part[NOTE]))
        elif "added" in part:
            added = part["added"]
            said.append(gettext("Added: %(name)s “%(object)s”.") % {
                "name": _word(added["name"]), "object": added.get("object", "")}
                if added else gettext("Created."))
        elif "changed" in part:
            said.append(_changed(part["changed"]))
        elif "deleted" in part:
            said.append(gettext("Deleted: %(name)s “%(object)s”.") % {
                "name": _word(part["deleted"]["name"]),
                "object": part["deleted"].get("object", "")})
    return " ".join(said) or gettext("No fields changed.")


def history_log(request, obj, message: str) -> None:
    """A History entry written outside a ModelAdmin (the wizard), the same
    as `ModelAdmin.log_change` writes it."""
    from django.contrib.admin.models import CHANGE, LogEntry

    LogEntry.objects.log_actions(user_id=request.user.pk, queryset=[obj], action_flag=CHANGE,
                                 change_message=message, single_object=True)
