"""English formats: Django's, with dates and times written as the console's
own lists write them ("1 Dec 2026, 08:38", integration.core.formatting), so a
read-only field on a shop's page and the sync log beside it agree. Django's
"Dec. 1, 2026, 8:38 a.m." read as a second convention on the same screen."""

from django.conf.locale.en.formats import *  # noqa: F403 - Django's, then ours on top

DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
