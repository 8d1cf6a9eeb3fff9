"""Vendor errors in words for the person who can fix them.

`errors.people_text` says what went wrong in the reader's language (fixed
words for the network and the policy, the vendor's own text otherwise);
this module adds what to change, for the screens where a person has just
typed a URL or a key (the "Add a shop" wizard, the shop page's connection
test). Nothing here shows an API path, a status code or a Python value.
"""

from django.utils.translation import gettext as _

from integration.core import outbound_policy
from integration.vendors.errors import (
    FIXED_WORDS,
    HTTP_SUFFIX,
    KNOWN_VENDOR_TEXT,
    PROVIDER_NAMES,
    ApiAccessDenied,
    ApiBanned,
    ApiError,
    ApiHostError,
    ApiNotFound,
    ApiRateLimited,
    ApiRefusedByPolicy,
    ApiServerError,
    ApiTimeoutError,
    ApiUnauthorized,
    ApiUnexpectedResponse,
    clause,
    people_text,
    stored_text,
    without_vendor_name,
)

RETAILCRM = "retailcrm"


def error_advice(error: ApiError, provider: str, *, worked_before: bool = False) -> str:
    """A vendor error as "what is wrong and what to change", for the person
    who typed the connection (the wizard, the shop page's test), followed by
    the vendor's own words when it gave some ("Ключ отозван."), cut short:
    they may say what no advice can (a revoked key, a blocked account)."""
    advice = _advice(error, provider, worked_before)
    said = vendor_own_words(error)
    if said and said not in advice and in_readers_script(said):
        advice += " " + _("%(vendor)s said: “%(text)s”") % {
            "vendor": PROVIDER_NAMES.get(provider, provider), "text": clause(said)}
    return advice


def in_readers_script(text: str) -> bool:
    """Whether a vendor's text is written in the reader's alphabet: HDE
    answers in Russian or English as it pleases, and its English quoted
    inside a Russian sentence (or the other way round) mixes languages.
    The text stays in the connection's stored error and the log."""
    from django.utils.translation import get_language

    cyrillic = any("а" <= ch.lower() <= "я" or ch.lower() == "ё" for ch in text)
    latin = any("a" <= ch.lower() <= "z" for ch in text)
    if (get_language() or "en").startswith("ru"):
        return cyrillic and not latin
    return latin and not cyrillic


def vendor_own_words(error: ApiError) -> str:
    """The vendor's own text of an error, or "" when the portal words it
    (a fixed word, a known vendor text) or the vendor gave none."""
    stored = stored_text(error)
    if stored in FIXED_WORDS or HTTP_SUFFIX.sub("", stored) in KNOWN_VENDOR_TEXT:
        return ""
    return without_vendor_name(stored)


def _advice(error: ApiError, provider: str, worked_before: bool) -> str:
    vendor = PROVIDER_NAMES.get(provider, provider)
    if isinstance(error, ApiUnexpectedResponse) and worked_before:
        # A connection that has answered like the vendor's API: a proxy's
        # page or a body cut short is a passing glitch, not a wrong URL.
        return _("%(vendor)s sent something that is not its API's answer (a web page, or data "
                 "cut short), although this connection has worked. Try again in a minute; if "
                 "it keeps happening, check the URL.") % {"vendor": vendor}
    if isinstance(error, ApiUnexpectedResponse):
        if provider == RETAILCRM:
            return _("This URL does not answer like a RetailCRM account. Use the address of "
                     "your account, e.g. https://yourshop.retailcrm.ru (no path after it).")
        return _("This URL does not answer like a HelpDeskEddy account. Use the address of "
                 "your help desk, e.g. https://yourcompany.helpdeskeddy.com (no path after it).")
    if isinstance(error, ApiRefusedByPolicy) and error.reason == outbound_policy.REDIRECT:
        return _("This address sends the portal on to another address (a redirect), and the "
                 "portal follows no redirect to another site. Enter the address your account "
                 "answers at: the one the browser shows after opening it.")
    if isinstance(error, ApiRefusedByPolicy):
        return _("The portal does not connect to this address: use the vendor's public "
                 "https:// address (no internal or private network addresses).")
    if isinstance(error, ApiTimeoutError):
        return _("%(vendor)s did not answer in time. Try again; if it keeps happening, check "
                 "the URL.") % {"vendor": vendor}
    if isinstance(error, ApiHostError):
        return _("Nothing answers at this address. Check the spelling of the account URL.")
    if isinstance(error, ApiBanned):
        return _("HelpDeskEddy has banned API access for this account for about 20 minutes "
                 "(more than 300 requests a minute were made with it). Wait, then try again.")
    if isinstance(error, ApiRateLimited):
        return _("%(vendor)s is limiting requests for this account right now. Wait a few "
                 "seconds and try again.") % {"vendor": vendor}
    if isinstance(error, ApiAccessDenied):
        if provider == RETAILCRM:
            return _("RetailCRM accepted the key but refused access: give the key the rights "
                     "listed below in RetailCRM (Administration → Integration → API access keys).")
        return _("HelpDeskEddy accepted the key but refused access. Use the key and e-mail "
                 "of an agent (staff) account, and check that the URL is your help desk's.")
    if isinstance(error, ApiUnauthorized):
        if provider == RETAILCRM:
            return _("RetailCRM refused this API key. Copy the key again from RetailCRM "
                     "(Administration → Integration → API access keys) and make sure it is active.")
        return _("HelpDeskEddy refused this e-mail and key. The e-mail must be the agent whose "
                 "key this is (HDE: the agent’s card in «Контакты» → API key); copy both again.")
    if isinstance(error, ApiNotFound):
        return _("There is no %(vendor)s API at this address. Check the account URL.") % {
            "vendor": vendor}
    if isinstance(error, ApiServerError):
        return _("%(vendor)s had an internal error. Try again in a minute.") % {
            "vendor": vendor}
    return _("%(vendor)s answered with an error: %(detail)s") % {
        "vendor": vendor, "detail": people_text(error)}


def action_failure(error: ApiError, provider: str) -> str:
    """Why an operator's action (a note, a comment, a reply) did not go
    through, as one sentence: a failure that passes (a server error, a rate
    limit, the network) says to try again; a refusal says what the vendor
    refused. "Refused: server error" was neither true nor a sentence."""
    vendor = PROVIDER_NAMES.get(provider, provider)
    detail = clause(without_vendor_name(people_text(error)))
    if error.retryable and not isinstance(error, ApiBanned):  # a ban's words say when
        return _("%(vendor)s could not do this right now: %(err)s. Try again in a minute.") % {
            "vendor": vendor, "err": detail}
    return _("%(vendor)s did not accept this: %(err)s.") % {"vendor": vendor, "err": detail}
