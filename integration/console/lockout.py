"""What a locked-out admin login sees.

django-axes refuses the (address, username) pair past the failure limit
(settings: `AXES_*`); this renders its answer as a console page that says
what happened, for how long, and who can lift it, in the user's language,
instead of axes' untranslated one-line text.
"""

from django.conf import settings
from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _


def lockout_response(request, original_response=None, credentials=None):
    minutes = max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))
    context = {
        **admin.site.each_context(request),
        "title": _("Login locked"),
        "minutes": minutes,
        "login_url": request.path,
    }
    response = TemplateResponse(request, "admin/login_locked.html", context, status=429)
    # Rendered here: the middleware that asked for it is the outermost one
    # left, so nothing later would render a lazy response.
    return response.render()
