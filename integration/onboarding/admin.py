"""The "Add a shop" wizard inside the admin (owners and admins only).

Six steps on one draft shop (inactive until activated, see
integration.onboarding.wizard): RetailCRM → HelpDeskEddy → priorities and
the CRM card field, read from HDE → webhooks: secrets shown once, with the
exact vendor set-up (shown again, without the secrets, on every later
visit) → a sample lookup, then "Activate" → the live check, which waits
for HDE's first webhook and ends with the next steps. Every step's URL
carries the draft's public id and resolves it through
`get_shop_for_user_or_404`, so another agency's draft answers 404 like a
missing one; a viewer gets 403. The screens only parse and render: the
draft is born, checked and activated by services in this package.

HDE's menu paths and dispatcher names are quoted as HDE's Russian interface
writes them («Управление → Диспетчер», «Новая заявка»…), in both languages
of the portal (the English text adds a gloss): a person pastes into HDE,
so they must find exactly those words there (docs/vendors/helpdeskeddy.md §11).
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from integration.console.history import history_log, history_note
from integration.models import Language
from integration.models.connections import HttpsURLField
from integration.onboarding import checklist
from integration.onboarding import wizard as onboarding
from integration.onboarding.dispatcher_rules import BASIC_USERNAME, DISPATCHER_RULES
from integration.tenancy.access import can_edit_agency_data, get_shop_for_user_or_404
from integration.tenancy.secret_confirmation import ConfirmationExpired

STEPS = [
    ("retailcrm", _("RetailCRM")),
    ("hde", _("HelpDeskEddy")),
    ("priorities", _("Priorities")),
    ("hooks", _("Webhooks")),
    ("check", _("Check and activate")),
    ("live", _("First webhook")),
]


def _url_field(label, help_text):
    return HttpsURLField().formfield(label=label, help_text=help_text, max_length=300)


class RetailCrmStepForm(forms.Form):
    agency = forms.ModelChoiceField(queryset=None, label=_("Agency"))
    name = forms.CharField(label=_("Shop name"), max_length=200)
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices,
                                 help_text=_("Of texts written into HDE and RetailCRM."))
    base_url = _url_field(_("RetailCRM account URL"), _("e.g. https://yourshop.retailcrm.ru"))
    api_key = forms.CharField(label=_("RetailCRM API key"), widget=forms.PasswordInput,
                              help_text=_("RetailCRM: Administration → Integration → API "
                                          "access keys."))
    site_code = forms.CharField(label=_("Store (site) code"), required=False, max_length=100,
                                help_text=_("Only when the key sees several stores."))

    def __init__(self, *args, user, draft=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.draft = draft
        agencies = onboarding.editable_agencies(user)
        self.fields["agency"].queryset = agencies
        if draft is None and len(agencies[:2]) == 1:
            # The only agency the user may add shops to: preselected, no blank choice.
            self.fields["agency"].initial = agencies[0].pk
            self.fields["agency"].empty_label = None
        if draft is not None:
            # The agency of a draft is fixed: its rows already belong there.
            self.fields["agency"].queryset = self.fields["agency"].queryset.filter(
                pk=draft.agency_id)
            self.fields["agency"].disabled = True

    def clean(self):
        data = super().clean()
        agency, name = data.get("agency"), data.get("name")
        if agency and name:
            if onboarding.shop_name_taken(agency=agency, name=name, draft=self.draft):
                self.add_error("name", gettext("This agency already has a shop with this name; "
                                               "choose another name."))
        return data


class HdeStepForm(forms.Form):
    base_url = _url_field(_("HelpDeskEddy URL"), _("e.g. https://yourcompany.helpdeskeddy.com"))
    agent_email = forms.EmailField(label=_("Agent e-mail"),
                                   help_text=_("The agent whose API key this is; the portal "
                                               "writes as this agent."))
    api_key = forms.CharField(label=_("HelpDeskEddy API key"), widget=forms.PasswordInput,
                              help_text=_("HDE: the agent's card in «Контакты» (Contacts) "
                                          "→ API key."))


class PrioritiesForm(forms.Form):
    normal_priority_id = forms.TypedChoiceField(label=_("Normal priority"), coerce=int)
    high_priority_id = forms.TypedChoiceField(label=_("High priority"), coerce=int)
    crm_card_field_id = forms.TypedChoiceField(
        label=_("\"CRM card\" custom field"), coerce=int, required=False, empty_value=None,
        help_text=_("A text field of tickets; the portal writes the customer card link into it."))

    def __init__(self, *args, lists, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["normal_priority_id"].choices = lists.priorities
        self.fields["high_priority_id"].choices = lists.priorities
        self.fields["crm_card_field_id"].choices = [("", "—")] + lists.custom_fields

    def clean(self):
        data = super().clean()
        if data.get("normal_priority_id") and data.get("normal_priority_id") == data.get(
                "high_priority_id"):
            self.add_error("high_priority_id", gettext("Choose a priority above the normal one."))
        return data


class SampleForm(forms.Form):
    email = forms.EmailField(label=_("Customer e-mail"),
                             help_text=_("Any e-mail of a customer in RetailCRM."))


def _editable_draft(request, public_id):
    shop = get_shop_for_user_or_404(request.user, public_id)
    if not can_edit_agency_data(request.user, shop.agency_id):
        raise PermissionDenied
    return shop


def _render(request, template, *, shop=None, step, title, **context):
    progress = onboarding.onboarding_progress(shop) if shop is not None else None
    done = {
        "retailcrm": bool(progress and progress.retailcrm),
        "hde": bool(progress and progress.hde),
        "priorities": bool(progress and progress.priorities),
        "hooks": bool(progress and progress.secrets),
        "check": bool(progress and progress.active),
        "live": bool(progress and progress.first_webhook),
    }
    steps = [{"key": key, "label": label, "done": done[key], "current": key == step,
              "url": (reverse(f"admin:console-wizard-{key}", args=[shop.public_id])
                      if shop is not None else "")}
             for key, label in STEPS]
    return TemplateResponse(request, template, {
        **admin.site.each_context(request), "title": title, "shop": shop, "steps": steps,
        "progress": progress,
        "features_off": onboarding.features_off(shop) if shop is not None else {},
        **context,
    })


def wizard_retailcrm(request, public_id=None):
    """Step 1: agency, name and the RetailCRM account, tested live. A new
    draft is made (and kept only if the test passes) by
    `onboarding.retailcrm_step`, never here."""
    draft = _editable_draft(request, public_id) if public_id else None
    if draft is None and not onboarding.editable_agencies(request.user).exists():
        raise PermissionDenied
    initial = {}
    if draft is not None:
        connection = getattr(draft, "retailcrm", None)
        initial = {"agency": draft.agency_id, "name": draft.name, "language": draft.language,
                   "base_url": connection.base_url if connection else "",
                   "site_code": connection.site_code if connection else ""}
    form = RetailCrmStepForm(request.POST or None, user=request.user, draft=draft,
                             initial=initial)
    check = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        step = onboarding.retailcrm_step(
            draft=draft, agency=data["agency"], name=data["name"], language=data["language"],
            base_url=data["base_url"], api_key=data["api_key"], site_code=data["site_code"])
        draft, check = step.shop, step.check
        if check.ok:
            messages.success(request, check.summary)
            for warning in check.warnings:  # saved anyway: what is off, and why
                messages.warning(request, warning)
            advice = onboarding.least_privilege_advice(check.extra)
            if advice:
                messages.warning(request, advice)
            return redirect("admin:console-wizard-hde", draft.public_id)
        for error in check.errors:
            form.add_error(None, error)
    return _render(request, "admin/console/wizard_form.html", shop=draft, step="retailcrm",
                   title=gettext("Add a shop: RetailCRM"), form=form, check=check,
                   intro=gettext("Enter the RetailCRM account and an API key. The portal tests "
                                 "them now and tells you which rights are missing or "
                                 "unnecessary."),
                   action=(reverse("admin:console-wizard-retailcrm", args=[draft.public_id])
                           if draft is not None else request.path))


def wizard_hde(request, public_id):
    """Step 2: the HDE account, tested live (stores the key's HDE user id)."""
    shop = _editable_draft(request, public_id)
    connection = getattr(shop, "helpdeskeddy", None)
    initial = ({"base_url": connection.base_url, "agent_email": connection.agent_email}
               if connection else {})
    form = HdeStepForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        check = onboarding.hde_connection_check(shop=shop, **form.cleaned_data)
        if check.ok:
            messages.success(request, check.summary)
            return redirect("admin:console-wizard-priorities", shop.public_id)
        for error in check.errors:
            form.add_error(None, error)
    return _render(request, "admin/console/wizard_form.html", shop=shop, step="hde",
                   title=gettext("Add a shop: HelpDeskEddy"), form=form,
                   intro=gettext("Enter the help desk address and the API key of the agent "
                                 "the portal will write as."), action=request.path)


def wizard_priorities(request, public_id):
    """Step 3: normal/high priorities and the CRM card field, from HDE's
    own lists; applies the shop defaults (rules, mappings)."""
    from integration.onboarding.shop_defaults import shop_defaults_apply

    shop = _editable_draft(request, public_id)
    if getattr(shop, "helpdeskeddy", None) is None:
        return redirect("admin:console-wizard-hde", shop.public_id)
    lists = onboarding.hde_lists_get(shop=shop)
    form = PrioritiesForm(request.POST or None, lists=lists, initial={
        "normal_priority_id": lists.guess_normal, "high_priority_id": lists.guess_high,
        "crm_card_field_id": lists.guess_crm_card})
    if lists.error:
        form.add_error(None, lists.error)
    elif request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        shop_defaults_apply(shop=shop, normal_priority_id=data["normal_priority_id"],
                            high_priority_id=data["high_priority_id"],
                            crm_card_field_id=data["crm_card_field_id"])
        messages.success(request, gettext("Priorities saved; default rules created."))
        return redirect("admin:console-wizard-hooks", shop.public_id)
    return _render(request, "admin/console/wizard_form.html", shop=shop, step="priorities",
                   title=gettext("Add a shop: priorities"), form=form,
                   intro=gettext("These lists come from your HelpDeskEddy account. Tickets of "
                                 "important customers get the high priority."),
                   action=request.path, submit_label=gettext("Save and continue"))


# What each HDE condition means, for readers of the English console (the
# Russian one reads HDE's own words only).
CONDITION_GLOSS = {
    "new_ticket": _("new ticket"),
    "new_reply": _("new reply in the ticket"),
    "ticket_changed": _("changes in the ticket"),
}


def wizard_hooks(request, public_id):
    """Step 4: the exact HDE dispatcher rules and RetailCRM trigger to paste,
    with the secrets. The secrets are shown once, on the answer to the POST
    that issued them; every later visit (going back) shows the same URLs,
    user and bodies with the password hidden. Posting the page's form again
    issues new ones (the old ones stop working); the same POST sent twice (a
    reload of the page that shows them) issues nothing more."""
    from integration.onboarding import dispatcher_rules as hde

    shop = _editable_draft(request, public_id)
    secrets = None
    issued = onboarding.hook_secrets_present(shop)
    # Reissuing on an active shop cuts its live webhooks off until both
    # vendors have the new secrets: only on an explicit confirmation (the box
    # the page shows), like any destructive admin action.
    must_confirm = issued and shop.active
    if request.method == "POST":
        if must_confirm and request.POST.get("confirm") != "yes":
            messages.error(request, gettext(
                "Nothing was issued: tick the box to confirm that the current secrets "
                "stop working."))
        else:
            # Once per page shown: this answer carries the secrets, and a
            # reload sends its POST again (tenancy.secret_confirmation).
            try:
                secrets = onboarding.shop_hook_secrets_issue_once(
                    shop=shop, seen=request.POST.get("seen", ""), user=request.user)
            except ConfirmationExpired:
                messages.error(request, gettext(
                    "Nothing was issued: this page was opened more than an hour ago or by "
                    "another user. Issue the secrets again below."))
            else:
                if secrets is None:
                    messages.warning(request, gettext(
                        "Nothing was issued again: newer secrets were issued after this page "
                        "was opened (this page sent twice, another tab or another admin), "
                        "and they are in force. If you have not copied them, issue new ones "
                        "below."))
                else:
                    history_log(request, shop, history_note(gettext_noop(
                        "Issued new webhook secrets in the set-up wizard (HDE …%(hde)s, "
                        "RetailCRM …%(retailcrm)s)."), hde=secrets["hde"][-4:],
                        retailcrm=secrets["retailcrm"][-4:]))
                    issued = True
    rules = [{**rule, "gloss": CONDITION_GLOSS[rule["event"]]} for rule in DISPATCHER_RULES]
    response = _render(
        request, "admin/console/wizard_hooks.html", shop=shop, step="hooks",
        title=gettext("Add a shop: webhooks"), secrets=secrets,
        urls=onboarding.hook_urls(shop), rules=rules, basic_user=BASIC_USERNAME,
        issued=issued, must_confirm=must_confirm,
        seen=onboarding.hook_secrets_seen(shop=shop, user=request.user),
        hde_menu=hde.HDE_MENU_DISPATCHER, hde_required=hde.HDE_REQUIRED_CONDITIONS,
        hde_action=hde.HDE_ACTION_WEBHOOK, hde_reply=hde.HDE_CONDITIONS["new_reply"],
        rc_action=onboarding.RETAILCRM_HTTP_ACTION,
        trigger_fields="order_id={{ order.id }}\nstatus={{ order.status.code }}")
    response["Cache-Control"] = "no-store"  # the page may carry the secrets
    return response


def wizard_check(request, public_id):
    """Step 5: a sample lookup through the whole read chain, then activate;
    activation leads to the live check."""
    shop = _editable_draft(request, public_id)
    form = SampleForm(request.POST or None if "lookup" in request.POST else None)
    context = None
    if request.method == "POST" and "activate" in request.POST:
        if onboarding.shop_activate(shop=shop):
            messages.success(request, gettext("%(shop)s is active: webhooks are accepted from "
                                              "now on.") % {"shop": shop.name})
            return redirect("admin:console-wizard-live", shop.public_id)
        messages.error(request, onboarding.activation_refusal(shop)
                       or gettext("Finish the steps marked as not done first."))
    elif form.is_bound and form.is_valid():
        context = onboarding.sample_lookup(shop=shop, email=form.cleaned_data["email"])
    return _render(request, "admin/console/wizard_check.html", shop=shop, step="check",
                   title=gettext("Add a shop: check and activate"), form=form, context=context)


def _live_context(request, shop) -> dict:
    editable = {shop.agency_id: can_edit_agency_data(request.user, shop.agency_id)}
    return {"shop": shop, "first": checklist.first_webhook_get(shop=shop),
            "checklist": checklist.shops_checklists(shops=[shop], editable=editable)[shop.pk],
            "status_url": reverse("admin:console-first-webhook", args=[shop.public_id])}


def wizard_live(request, public_id):
    """Step 6: after activation, wait for HDE's first webhook (the page asks
    `first_webhook_status` every few seconds) and show what to do next."""
    shop = _editable_draft(request, public_id)
    return _render(request, "admin/console/wizard_live.html", step="live",
                   title=gettext("Add a shop: first webhook"), **_live_context(request, shop))


def first_webhook_status(request, public_id):
    """The live check's fragment: whether HDE's first webhook has arrived,
    and the shop's checklist. Anyone who sees the shop may ask; another
    agency's shop is a 404, like a missing one."""
    shop = get_shop_for_user_or_404(request.user, public_id)
    return TemplateResponse(request, "admin/console/first_webhook.html",
                            _live_context(request, shop))


class ShopProbeMixin:
    """Mixed into ShopAdmin: the shop's contract probe ("Check against the
    real service") and, on the shop page, what works differently for the
    shop (features a key's missing rights switch off, vendor answers the
    portal works around), in words.

    Everyone who sees the shop sees the latest report; running the probe
    asks the shop admin's change permission (owners and admins). The write
    test has its own confirmation page: it creates and closes a test ticket
    in the shop's HelpDeskEddy."""

    def get_urls(self):
        from django.urls import path

        info = self.opts.app_label, self.opts.model_name
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/probe/", view(self.probe_view),
                 name="{}_{}_probe".format(*info)),
            path("<path:object_id>/probe/run/", view(self.probe_run_view),
                 name="{}_{}_probe_run".format(*info)),
            path("<path:object_id>/probe/write-test/", view(self.probe_write_view),
                 name="{}_{}_probe_write".format(*info)),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        from django.contrib.admin.utils import unquote

        from integration.ops.health import health_notices
        from integration.vendors.facts import facts_of

        shop = self.get_object(request, unquote(object_id))
        extra_context = dict(extra_context or {})
        if shop is not None:
            watch = getattr(shop, "order_watch", None)
            extra_context["vendor_notices"] = health_notices(watch=watch, facts=facts_of(shop),
                                                            features_off=False)
            extra_context["features_off"] = onboarding.features_off(shop)
        return super().change_view(request, object_id, form_url, extra_context)

    def _probe_shop(self, request, object_id, *, change: bool):
        from django.contrib.admin.utils import unquote
        from django.http import Http404

        shop = self.get_object(request, unquote(object_id))
        if shop is None or not self.has_view_permission(request, shop):
            raise Http404(gettext("No such shop."))
        if change and not self.has_change_permission(request, shop):
            raise PermissionDenied
        return shop

    def _probe_url(self, shop):
        return reverse("admin:integration_shop_probe", args=[shop.pk])

    def probe_view(self, request, object_id):
        from integration.vendors.probe import latest_report, probe_running, report_view

        shop = self._probe_shop(request, object_id, change=False)
        return TemplateResponse(request, "admin/integration/shop/probe.html", {
            **self.admin_site.each_context(request),
            "title": gettext("Check against the real service: %(shop)s") % {"shop": shop.name},
            "opts": self.opts, "original": shop, "shop": shop,
            "can_change": self.has_change_permission(request, shop),
            "running": probe_running(shop),
            "view": report_view(latest_report(shop)),
            "has_hde": getattr(shop, "helpdeskeddy", None) is not None,
        })

    def _probe_start(self, request, shop, *, write_test: bool):
        from django.http import HttpResponseRedirect
        from django_q.tasks import async_task

        from integration.vendors.probe import probe_running, probe_start

        if probe_running(shop):
            self.message_user(request, gettext("A check of this shop is already running."),
                              messages.WARNING)
            return HttpResponseRedirect(self._probe_url(shop))
        report = probe_start(shop=shop, write_test=write_test, user=request.user)
        async_task("integration.tasks.vendor_probe_task", report.pk,
                   task_name=f"vendor-probe-{report.pk}")
        self.log_change(request, shop, history_note(
            gettext_noop("Started the check against the real service, with the write test.")
            if write_test else gettext_noop("Started the check against the real service.")))
        self.message_user(request, gettext("The check has started; this page shows its report "
                                           "when it is done (reload in a minute)."),
                          messages.SUCCESS)
        return HttpResponseRedirect(self._probe_url(shop))

    def probe_run_view(self, request, object_id):
        from django.http import HttpResponseNotAllowed

        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        shop = self._probe_shop(request, object_id, change=True)
        return self._probe_start(request, shop, write_test=False)

    def probe_write_view(self, request, object_id):
        """GET: what the write test does, and a confirmation. POST (with the
        confirmation ticked): run the probe with the write test."""
        shop = self._probe_shop(request, object_id, change=True)
        if getattr(shop, "helpdeskeddy", None) is None:
            raise PermissionDenied
        if request.method == "POST" and request.POST.get("confirm") == "yes":
            return self._probe_start(request, shop, write_test=True)
        if request.method == "POST":
            self.message_user(request, gettext("Tick the confirmation to run the write test."),
                              messages.ERROR)
        return TemplateResponse(request, "admin/integration/shop/probe_write.html", {
            **self.admin_site.each_context(request),
            "title": gettext("Run the write test on %(shop)s?") % {"shop": shop.name},
            "opts": self.opts, "original": shop, "shop": shop,
            "probe_url": self._probe_url(shop),
        })


class ShopConnectionTestMixin:
    """Mixed into ShopAdmin: "Test connection" on the shop's own page.

    The button posts to `<shop>/test-connection/`; the page's script
    (static/console/shop.js) swaps the answer, a fragment, in place under the
    button. Without scripts the same POST answers with the results as
    messages on the shop page. Like the changelist action it tests the
    *saved* connections (integration.onboarding.connection_check), so a URL
    typed and not saved is never sent the stored key. Anyone who sees the
    shop may test it (as with the action); another agency's shop answers 404
    like a missing one."""

    def get_urls(self):
        from django.urls import path

        info = self.opts.app_label, self.opts.model_name
        return [
            path("<path:object_id>/test-connection/",
                 self.admin_site.admin_view(self.connection_test_view),
                 name="{}_{}_connection_test".format(*info)),
            *super().get_urls(),
        ]

    def connection_test_view(self, request, object_id):
        from django.contrib.admin.utils import unquote
        from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect

        from integration.onboarding.connection_check import shop_connections_test

        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        shop = self.get_object(request, unquote(object_id))
        if shop is None or not self.has_view_permission(request, shop):
            raise Http404(gettext("No such shop."))
        results = shop_connections_test(shop=shop)
        if request.headers.get("X-Requested-With") == "fetch":
            return TemplateResponse(request, "admin/integration/shop/connection_test.html",
                                    {"results": results, "shop": shop})
        for result in results:
            level = (messages.ERROR if not result.ok else
                     messages.WARNING if result.warning else messages.SUCCESS)
            self.message_user(request, result.said, level)
        return HttpResponseRedirect(reverse("admin:integration_shop_change", args=[shop.pk]))
