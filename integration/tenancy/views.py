"""The page an invitation link opens (integration.tenancy.invitations).

Logged in as the invited address's account: "Join <agency> as <role>?",
accept or decline. Logged in as anyone else: told the link is for another
account, nothing changes. Not logged in: the admin's login form first when
the address has an account, else a form to choose the new account's
password. A link that is used, replaced or expired answers like an unknown
one.
"""

from django.contrib import admin, messages
from django.contrib.auth.forms import SetPasswordForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from integration.tenancy import invitations

TEMPLATE = "registration/invitation.html"


def _page(request, state, status=200, **context):
    return render(request, TEMPLATE, {
        "site_header": admin.site.site_header, "site_title": admin.site.site_title,
        "title": _("Invitation"), "state": state, **context}, status=status)


@sensitive_post_parameters("new_password1", "new_password2")
@csrf_protect
@never_cache
def invitation_accept_view(request, token):
    invitation = invitations.invitation_pending(token)
    if invitation is None:
        return _page(request, "invalid", status=404)
    user = request.user
    if user.is_authenticated:
        if not invitations.invitation_is_for(invitation, user):
            return _page(request, "other_account", status=403, invitation=invitation)
        if request.method == "POST":
            try:
                if "decline" in request.POST:
                    invitations.invitation_decline(invitation=invitation, user=user)
                    return _page(request, "declined", invitation=invitation)
                invitations.invitation_accept(invitation=invitation, user=user)
            except (PermissionDenied, ValidationError):
                return _page(request, "invalid", status=404)
            messages.success(request, _("You joined %(agency)s.")
                             % {"agency": invitation.agency.name})
            return redirect("admin:index")
        return _page(request, "confirm", invitation=invitation)

    if not invitations.invitation_needs_account(invitation):
        login = reverse("admin:login") + "?" + urlencode({"next": request.path})
        return redirect(login)
    form = SetPasswordForm(invitations.invitation_new_user(invitation),
                           request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            account = invitations.invitation_accept_new_account(
                invitation=invitation, password=form.cleaned_data["new_password1"])
        except ValidationError:
            return redirect(request.path)  # an account appeared: log in instead
        return _page(request, "created", invitation=invitation,
                     login=account.get_username())
    return _page(request, "new_account", invitation=invitation, form=form)
