"""Django admin phrases the console words differently, per language.

Django's Russian catalog builds titles and buttons as verb + object name in
the nominative: "Добавить еще один привязка поля", "Изменить заявка",
"Выберите правило приоритета для изменения". Russian needs the accusative
(and "одну" for feminine nouns), which a single format string cannot give
for every model. The console's own catalog (LOCALE_PATHS, read before
Django's) therefore carries these msgids with a "verb: name" form that is
grammatical for any noun ("Добавить ещё: привязка поля"). The English text
stays Django's own.

The strings below are only marks for `makemessages`, so that the entries
stay in our catalog (`--no-obsolete` drops any msgid no source names); the
admin looks them up by these exact msgids, so they must match Django's.
"""

from django.utils.translation import gettext_noop

DJANGO_ADMIN_PHRASES = (
    gettext_noop("Add %s"),
    gettext_noop("Change %s"),
    gettext_noop("View %s"),
    gettext_noop("Select %s to change"),
    gettext_noop("Select %s to view"),
    gettext_noop("Add %(name)s"),
    gettext_noop("Add another %(verbose_name)s"),
    gettext_noop("Add another %(model)s"),
    gettext_noop("Delete selected %(verbose_name_plural)s"),
)
