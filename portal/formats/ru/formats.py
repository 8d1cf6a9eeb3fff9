"""Russian formats: Django's, with the day and month in the genitive, and
date-times as the console's own lists write them ("01.12.2026 08:38",
integration.core.formatting), so a read-only field and the sync log agree.

Django's `MONTH_DAY_FORMAT` for Russian is "j F", which writes "30 Ноябрь"
(the nominative, as a calendar heading would); a date reads "30 ноября".
`E` is the locale's alternative month name, the genitive in Russian. The
admin's date drill-down uses this format.
"""

from django.conf.locale.ru.formats import *  # noqa: F403 - Django's, then ours on top

MONTH_DAY_FORMAT = "j E"
DATETIME_FORMAT = "d.m.Y H:i"
SHORT_DATETIME_FORMAT = "d.m.Y H:i"
