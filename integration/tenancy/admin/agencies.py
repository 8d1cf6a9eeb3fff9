"""Agencies and memberships: owners manage who works on their shops."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import display_for_value
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from integration.models import Agency, Invitation, Membership, Role
from integration.tenancy.access import agencies_for_user, agencies_owned_by, can_manage_members
from integration.tenancy.login_lockout import (
    login_unlock,
    may_see_login_state,
    memberships_with_login_state,
)


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ("name", "shop_count", "created_at")
    search_fields = ("name",)

    def get_queryset(self, request):
        return super().get_queryset(request).filter(pk__in=agencies_for_user(request.user))

    @admin.display(description=_("shops"))
    def shop_count(self, agency):
        return agency.shops.count()

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (
            obj is None or can_manage_members(request.user, obj.pk)
        )

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


class InviteColleagueForm(forms.Form):
    agency = forms.ModelChoiceField(queryset=Agency.objects.none(), label=_("Agency"))
    email = forms.EmailField(label=_("E-mail"))
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER, label=_("Role"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Another agency's id is simply not a valid choice.
        self.fields["agency"].queryset = agencies_owned_by(user)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "agency", "role", "login_state", "created_at")
    actions = ["unlock_login"]
    # RelatedOnly: the plain related filter lists every agency in the
    # database, i.e. other tenants' names.
    list_filter = ("role", ("agency", admin.RelatedOnlyFieldListFilter))
    search_fields = ("user__username", "user__email", "agency__name")
    autocomplete_fields = ()

    def get_urls(self):
        invite = path(
            "invite/",
            self.admin_site.admin_view(self.invite_view),
            name="integration_membership_invite",
        )
        return [invite, *super().get_urls()]

    def may_invite(self, request) -> bool:
        return agencies_owned_by(request.user).exists()

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_invite": self.may_invite(request)}
        return super().changelist_view(request, extra_context=extra_context)

    def invite_view(self, request):
        """Owners invite a colleague by e-mail (integration.tenancy.invitations):
        the answer is the same whether the address has an account or not."""
        from integration.tenancy.invitations import membership_invite

        if not self.may_invite(request):
            raise PermissionDenied
        form = InviteColleagueForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            try:
                invitation = membership_invite(
                    inviter=request.user,
                    agency=form.cleaned_data["agency"],
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                    request_base_url=request.build_absolute_uri("/"),
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.message_user(request, _(
                    "Invitation sent to %(email)s for %(agency)s. They become a member when "
                    "they accept it."
                ) % {"email": invitation.email, "agency": invitation.agency.name})
                return HttpResponseRedirect(reverse("admin:integration_membership_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Invite colleague"),
            "form": form,
        }
        return TemplateResponse(request, "admin/integration/membership/invite.html", context)

    def get_queryset(self, request):
        return memberships_with_login_state(
            super().get_queryset(request)
            .filter(agency__in=agencies_for_user(request.user))
            .select_related("user", "agency"),
            actor=request.user,
        )

    def get_list_display(self, request):
        """The lock-out column only for those who may unlock someone."""
        shown = super().get_list_display(request)
        if may_see_login_state(request.user):
            return shown
        return [name for name in shown if name != "login_state"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not may_see_login_state(request.user):
            actions.pop("unlock_login", None)
        return actions

    def get_readonly_fields(self, request, obj=None):
        """Only the role changes on an existing membership: moving it to
        another account or agency would make a member of someone who never
        accepted (integration.tenancy.invitations)."""
        if obj is not None and not request.user.is_superuser:
            return ("user", "agency", *super().get_readonly_fields(request, obj))
        return super().get_readonly_fields(request, obj)

    def has_add_permission(self, request):
        """New members come through "Invite colleague" and accept it; only
        the installation's operator adds a membership directly."""
        return request.user.is_superuser and super().has_add_permission(request)

    @admin.display(description=_("login locked"), ordering="login_locked")
    def login_state(self, membership):
        """Blank for an account the viewer may not unlock (login_lockout)."""
        if not membership.may_unlock:
            return ""
        return display_for_value(membership.login_locked, "", boolean=True)

    @admin.action(description=_("Unlock login of selected members"), permissions=["change"])
    def unlock_login(self, request, queryset):
        """Lift a login lock-out (too many refused passwords) of accounts that
        belong only to agencies the user owns; a superuser may lift anyone's."""
        unlocked, refused = login_unlock(actor=request.user, memberships=queryset)
        if refused:
            self.message_user(request, ngettext(
                "A login can be unlocked only by an owner of every agency the account belongs "
                "to; %(n)d selected member was left as it was.",
                "A login can be unlocked only by an owner of every agency the account belongs "
                "to; %(n)d selected members were left as they were.", refused)
                % {"n": refused}, messages.WARNING)
        if unlocked:
            self.message_user(request, ngettext("Unlocked %(n)d login.", "Unlocked %(n)d logins.",
                                                unlocked) % {"n": unlocked}, messages.SUCCESS)
        elif not refused:
            self.message_user(request, _("None of the selected logins was locked."),
                              messages.INFO)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "agency":
            kwargs["queryset"] = agencies_for_user(request.user)
        elif db_field.name == "user" and not request.user.is_superuser:
            # Only colleagues already in one of the user's agencies: the full
            # user list would show every tenant's logins. New people come in
            # through "Invite colleague".
            kwargs["queryset"] = get_user_model()._default_manager.filter(
                memberships__agency__in=agencies_for_user(request.user)
            ).distinct()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _owner_of(self, request, obj):
        return obj is None or can_manage_members(request.user, obj.agency_id)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._owner_of(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._owner_of(request, obj)

    def save_model(self, request, obj, form, change):
        if not can_manage_members(request.user, obj.agency_id):
            raise PermissionDenied
        super().save_model(request, obj, form, change)


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Invitations waiting for an answer, seen and withdrawn by the owners
    who may invite into their agency. New ones come from "Invite
    colleague"; an accepted one is a membership and leaves this list."""

    list_display = ("email", "agency", "role", "invited_by", "created_at", "expires_at")
    list_filter = ("role", ("agency", admin.RelatedOnlyFieldListFilter))
    search_fields = ("email",)
    fields = ("email", "agency", "role", "invited_by", "created_at", "expires_at")
    readonly_fields = fields
    actions = ["delete_selected"]

    def get_queryset(self, request):
        from integration.tenancy.invitations import invitations_pending_for

        return invitations_pending_for(request.user).select_related("agency", "invited_by")

    def has_module_permission(self, request):
        return agencies_owned_by(request.user).exists()

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request) and (
            obj is None or can_manage_members(request.user, obj.agency_id))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return self.has_view_permission(request, obj)
