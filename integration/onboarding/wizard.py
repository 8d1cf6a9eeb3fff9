"""Onboarding a shop: live connection tests that say what to fix, the HDE
choices, the secrets shown once and a sample lookup.

Why a draft Shop (inactive) instead of session-only state: every vendor call
writes an `ApiCall` row that needs a shop, and the wizard's tests must leave
the same trace as production calls (visible in the sync log). Inactive shops
receive no webhooks (the receivers only accept active shops) and are skipped
by the alerts, so a half-finished setup cannot act on anything.

Keys are tested on an unsaved connection row and stored only once they work,
so a wrong key never replaces a working one. The wizard's forms always ask
for the key together with the URL, so the key is bound to the account address it was
typed for (`bind_key`), and the URLs pass the outbound policy when the form
is validated (integration.models.connections.validate_vendor_url).
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from integration.models import (
    ConnectionStatus,
    EventSource,
    HelpDeskEddyConnection,
    InboundEvent,
    RetailCrmConnection,
    SecretKind,
    Shop,
    ShopSecret,
    ShopSettings,
)
from integration.models.tenancy import validate_timezone
from integration.tenancy.access import agencies_editable_by
from integration.vendors import facts
from integration.vendors.advice import error_advice
from integration.vendors.errors import (
    ApiAccessDenied,
    ApiError,
)
from integration.vendors.facts import RIGHT_FEATURES, right_name

RETAILCRM, HDE = "retailcrm", "helpdeskeddy"

# Names the HDE account may use for the lists the wizard pre-selects (§8 of
# the HDE reference: priority ids are not ordered by severity, so guesses go
# by name and the person confirms).
NORMAL_PRIORITY_NAMES = ("standard", "normal", "стандартно", "обычный", "средний", "medium")
HIGH_PRIORITY_NAMES = ("very urgent", "urgent", "high", "срочно", "высокий")
CRM_CARD_NAMES = ("crm card", "карточка crm", "retailcrm")
# RetailCRM's name of the trigger action the wizard asks for
# (docs/vendors/retailcrm.md §15.1), quoted as its interface writes it.
RETAILCRM_HTTP_ACTION = "Отправить HTTP-запрос"


# The portal features behind each RetailCRM right, translated (the client's
# REQUIRED_SCOPES holds the same list in English for logs).
SCOPE_FEATURES = RIGHT_FEATURES


def editable_agencies(user):
    """Agencies where the user may add shops (owners and admins)."""
    return agencies_editable_by(user)


def shop_name_taken(*, agency, name: str, draft=None) -> bool:
    """Whether the agency already has another shop of this name."""
    clash = Shop.objects.filter(agency=agency, name=name)
    if draft is not None:
        clash = clash.exclude(pk=draft.pk)
    return clash.exists()


@dataclass
class FirstStep:
    """What step 1 left: the draft (None when a new one was refused) and the test."""

    shop: object
    check: "CheckResult"


def retailcrm_step(*, draft, agency, name: str, language: str, base_url: str, api_key: str,
                   site_code: str = "") -> FirstStep:
    """Step 1 of the wizard, and the one place a draft shop is born.

    A new draft exists only while its RetailCRM test runs (every vendor call
    logs an `ApiCall`, which belongs to a shop) and is kept only when the
    key works: a failed first step deletes it again, with the trace of the
    test, so no half-made shop is left on the dashboard. The person retries
    from the same form (the URL of a draft that no longer exists would 404).
    Going back to step 1 of an existing draft renames it; a failed test
    there leaves the draft and its working connection as they were."""
    created = draft is None
    if created:
        draft = Shop.objects.create(agency=agency, name=name, language=language, active=False)
    else:
        draft.name, draft.language = name, language
        draft.save(update_fields=["name", "language"])
    check = retailcrm_connection_check(shop=draft, base_url=base_url, api_key=api_key,
                                       site_code=site_code)
    if created and not check.ok:
        draft.delete()
        draft = None
    return FirstStep(shop=draft, check=check)


@dataclass
class CheckResult:
    ok: bool
    errors: list[str] = field(default_factory=list)
    summary: str = ""
    # RetailCRM rights the key lacks (or that could not be confirmed):
    # right → the portal feature it turns off. The connection is saved
    # anyway; exactly these features stay off (integration.vendors.facts).
    missing: dict[str, str] = field(default_factory=dict)
    extra: list[str] = field(default_factory=list)
    sites: list[str] = field(default_factory=list)
    # Saved, but the person should read these (missing rights, settings
    # that could not be read), in words.
    warnings: list[str] = field(default_factory=list)


def rights_warning(rights) -> str:
    """The features each missing right turns off, and how to get them back."""
    if not rights:
        return ""
    return _("Saved, but the key lacks rights, so these features are off (the rest works): "
             "%(features)s. To turn them on, give the key the rights in RetailCRM "
             "(Administration → Integration → API access keys) and test the connection "
             "again.") % {
        "features": "; ".join(f"{RIGHT_FEATURES[r]} ({right_name(r)})" for r in rights
                              if r in RIGHT_FEATURES)}


def retailcrm_connection_check(*, shop, base_url: str, api_key: str,
                               site_code: str = "") -> CheckResult:
    """Test a RetailCRM URL and key live and store them on the shop if they
    work.

    What decides "this is a RetailCRM account and the key works": only
    `/api/api-versions` and `/api/credentials`. Everything else is
    tolerated (docs/vendors/open-questions.md R-6, R-7): rights listed
    under other names are recognised, a missing right saves the connection
    with its features switched off and a warning, and an account whose
    settings cannot be read keeps the shop's time zone, with a warning."""
    from integration.vendors.retailcrm import RetailCrmClient

    connection = RetailCrmConnection(shop=shop, base_url=base_url, site_code=site_code)
    connection.bind_key(api_key)  # typed together with this URL
    client = RetailCrmClient.for_connection(connection, interactive=True)
    try:
        client.api_versions()
        credentials = client.check_credentials()
        rights = client.rights_check(credentials)
    except ApiError as error:
        return CheckResult(ok=False, errors=[error_advice(error, RETAILCRM)])
    result = CheckResult(ok=True, extra=list(credentials.extra),
                         sites=credentials.sites_available,
                         missing={right: str(RIGHT_FEATURES[right]) for right in rights.off})
    if site_code and site_code not in credentials.sites_available:
        result.ok = False
        result.errors.append(_(
            "The key cannot see the store '%(site)s'. Stores it sees: %(sites)s. Fix the store "
            "code or give the key access to that store.") % {
            "site": site_code, "sites": ", ".join(credentials.sites_available) or "—"})
        return result
    if not site_code and len(credentials.sites_available) == 1:
        # One store: work with it, so new customers land in the right place.
        connection.site_code = credentials.sites_available[0]
    facts.fact_set(connection, facts.RC_RIGHTS, source="check", **rights.as_fact())
    read = client.account_settings_optional()
    account = read.settings
    if rights.off:
        result.warnings.append(rights_warning(rights.off))
    if account is None:
        result.warnings.append(_("RetailCRM: %(what)s.") % {"what": read.warning()})
    with transaction.atomic():
        RetailCrmConnection.objects.filter(shop=shop).delete()
        connection.status = ConnectionStatus.OK
        connection.last_success_at = timezone.now()
        connection.save()
        changed = []
        if account and account.timezone and account.timezone != shop.timezone:
            try:
                validate_timezone(account.timezone)
            except Exception:  # noqa: BLE001 - an unknown zone keeps the shop's
                pass
            else:
                shop.timezone = account.timezone
                changed.append("timezone")
        if account and account.currency and account.currency != shop.currency:
            shop.currency = account.currency[:3]
            changed.append("currency")
        if changed:
            shop.save(update_fields=changed)
    result.summary = _("RetailCRM key works; stores: %(sites)s; timezone %(tz)s.") % {
        "sites": ", ".join(client.store_names(credentials.sites_available)) or "—",
        "tz": account.timezone if account and account.timezone else shop.timezone}
    if not connection.site_code and len(credentials.sites_available) > 1:
        result.summary += " " + _("No store code given: customers of all these stores will be "
                                  "found; enter a code to limit the shop to one.")
    return result


def features_off(shop) -> dict[str, str]:
    """What the shop's RetailCRM key cannot do, as the last test saw it:
    right → the feature that is off (for the wizard and the shop page)."""
    connection = getattr(shop, "retailcrm", None)
    if connection is None:
        return {}
    return {right: str(RIGHT_FEATURES[right]) for right in facts.rights_off(connection)
            if right in RIGHT_FEATURES}


def least_privilege_advice(extra: list[str]) -> str:
    if not extra:
        return ""
    return _("For least privilege, the key does not need these rights; you may remove them "
             "in RetailCRM: %(rights)s.") % {"rights": ", ".join(map(right_name, extra))}


RESTORED_FIELDS = ("base_url", "agent_email", "api_key", "key_origin", "status", "last_error",
                   "last_error_at", "consecutive_failures")


def hde_connection_check(*, shop, base_url: str, agent_email: str, api_key: str) -> CheckResult:
    """Test an HDE URL, agent e-mail and key live. The connection row is
    written first because the test records the key's HDE user id on it; it
    is removed again when the test fails."""
    from integration.tenancy.hde_accounts import hde_account_refusal
    from integration.vendors.helpdeskeddy import HelpDeskEddyClient

    if refusal := hde_account_refusal(shop=shop, base_url=base_url, api_key=api_key):
        return CheckResult(ok=False, errors=[refusal])
    previous = HelpDeskEddyConnection.objects.filter(shop=shop).first()
    connection = previous or HelpDeskEddyConnection(shop=shop)
    # A failed try must leave a working connection exactly as it was (its
    # health too: a "key refused" on it would page the agency for nothing).
    kept = {name: getattr(connection, name) for name in RESTORED_FIELDS}
    connection.base_url, connection.agent_email = base_url, agent_email
    connection.bind_key(api_key)  # typed together with this URL
    connection.save()
    try:
        summary = HelpDeskEddyClient.for_connection(connection, interactive=True).test_connection()
    except ApiError as error:
        if previous is None:
            connection.delete()
        else:
            for name, value in kept.items():
                setattr(connection, name, value)
            connection.save(update_fields=list(RESTORED_FIELDS))
        advice = error_advice(error, HDE)
        if isinstance(error, ApiAccessDenied) and "no HDE user" in error.message:
            advice = _("The key works, but no HDE user has the e-mail %(email)s. Enter the "
                       "e-mail of the agent who owns the key.") % {"email": agent_email}
        return CheckResult(ok=False, errors=[advice])
    return CheckResult(ok=True, summary=summary)


@dataclass
class HdeLists:
    priorities: list[tuple[int, str]]
    custom_fields: list[tuple[int, str]]
    guess_normal: int | None = None
    guess_high: int | None = None
    guess_crm_card: int | None = None
    error: str = ""


def hde_lists_get(*, shop) -> HdeLists:
    """Priorities and custom fields of the shop's HDE account, read by the
    one reader of HDE's lists (`hde_choices_get`, as the shop page and the
    rules read them), with guesses by name for the three the portal needs
    and, when HDE cannot be read, the wizard's advice on what to fix."""
    from integration.vendors.helpdeskeddy_choices import hde_choices_get

    choices = hde_choices_get(shop=shop, picking=True)
    if not choices.available:
        return HdeLists([], [], error=(error_advice(choices.failure, HDE)
                                       if choices.failure is not None else choices.error))
    return HdeLists(
        priorities=choices.priorities, custom_fields=choices.custom_fields,
        guess_normal=choices.guess("priorities", NORMAL_PRIORITY_NAMES),
        guess_high=choices.guess("priorities", HIGH_PRIORITY_NAMES),
        guess_crm_card=choices.guess("custom_fields", CRM_CARD_NAMES),
    )


def hook_urls(shop) -> dict[str, str]:
    base = settings.PORTAL_BASE_URL
    return {
        "hde": base + reverse("hook-hde", args=[shop.public_id]),
        "retailcrm": base + reverse("hook-retailcrm", args=[shop.public_id]),
    }


HOOK_SECRET_KINDS = (SecretKind.HDE_WEBHOOK, SecretKind.RETAILCRM_TRIGGER)


def hook_secrets_seen(*, shop, user) -> str:
    """What the webhooks step's form carries, so that its POST issues once."""
    from integration.tenancy.secret_confirmation import seen_token

    return seen_token(user=user, shops=[shop], kinds=HOOK_SECRET_KINDS)


def shop_hook_secrets_issue_once(*, shop, seen: str, user) -> dict[str, str] | None:
    """New HDE webhook and RetailCRM trigger secrets (old ones revoked); the
    plaintext exists only in the returned dict, for one page. None when the
    form was posted already (a reload of the page that showed the secrets);
    `ConfirmationExpired` when it was not this user's form for this shop or
    is too old. Nothing is issued in either case."""
    from integration.tenancy.secret_confirmation import (
        ConfirmationExpired,
        secrets_issue_once,
        seen_read,
    )

    revisions = (seen_read(seen, user=user, kinds=HOOK_SECRET_KINDS) or {}).get(shop.pk)
    if revisions is None:
        raise ConfirmationExpired
    tokens = secrets_issue_once(shop=shop, kinds=HOOK_SECRET_KINDS, seen=revisions,
                                label="wizard", issued_by=user)
    if tokens is None:
        return None
    return {"hde": tokens[SecretKind.HDE_WEBHOOK],
            "retailcrm": tokens[SecretKind.RETAILCRM_TRIGGER]}


def hook_secrets_present(shop) -> bool:
    kinds = set(ShopSecret.objects.for_shop(shop).filter(
        revoked_at__isnull=True, kind__in=[SecretKind.HDE_WEBHOOK, SecretKind.RETAILCRM_TRIGGER],
    ).values_list("kind", flat=True))
    return len(kinds) == 2


@dataclass
class Progress:
    retailcrm: bool
    hde: bool
    priorities: bool
    secrets: bool
    active: bool
    first_webhook: bool = False

    @property
    def ready(self) -> bool:
        return self.retailcrm and self.hde and self.priorities and self.secrets


def onboarding_progress(shop) -> Progress:
    rc = RetailCrmConnection.objects.filter(shop=shop, status=ConnectionStatus.OK).exists()
    hde = HelpDeskEddyConnection.objects.filter(shop=shop, hde_user_id__isnull=False).exists()
    prio = ShopSettings.objects.filter(shop=shop, normal_priority_id__isnull=False,
                                       high_priority_id__isnull=False).exists()
    webhook = InboundEvent.objects.for_shop(shop).filter(
        source=EventSource.HDE_WEBHOOK).exists()
    return Progress(retailcrm=rc, hde=hde, priorities=prio, secrets=hook_secrets_present(shop),
                    active=shop.active, first_webhook=webhook)


def sample_lookup(*, shop, email: str):
    """The whole read chain for one e-mail, as the widget would do it:
    RetailCRM customer, orders and manager, and the HDE history."""
    from integration.customers.context import customer_context_get

    return customer_context_get(shop=shop, email=email, refresh=True, interactive=True)


def activation_refusal(shop) -> str:
    """Why the shop may not be switched on although its steps are done
    (another active shop took its HDE account and key meanwhile), or ""."""
    from integration.tenancy.hde_accounts import hde_account_refusal_of_saved

    return hde_account_refusal_of_saved(shop=shop)


def shop_activate(*, shop) -> bool:
    """Switch a finished draft on: from now on its webhooks are accepted."""
    if not onboarding_progress(shop).ready or activation_refusal(shop):
        return False
    if not shop.active:
        shop.active = True
        shop.save(update_fields=["active"])
    return True
