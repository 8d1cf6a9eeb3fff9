"""History entries worded in the reader's language (integration.console.history)."""

from django import template

from integration.console.history import history_words

register = template.Library()
register.filter("history_words", history_words)
