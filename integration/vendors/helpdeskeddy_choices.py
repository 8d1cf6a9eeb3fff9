"""Choices for admin pickers, read from the shop's HDE account.

Priorities, departments, types and custom fields are per HDE account and
their ids mean nothing to a person, so the admin offers names. The client
caches the lists for an hour; when HDE cannot be reached the admin falls
back to typing ids and says why.

The one reader of these lists: the shop page, the rules, the dry run and the
"Add a shop" wizard all ask `hde_choices_get`, so a name reads the same on
every screen and a failure is reported in one set of words.
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext, pgettext_lazy

from integration.vendors.errors import ApiError, people_text

# HDE's field type codes (docs/vendors/helpdeskeddy.md §9), named for people.
FIELD_TYPE_WORDS = {
    "text": pgettext_lazy("field kind", "text"), "input": pgettext_lazy("field kind", "text"),
    "textarea": pgettext_lazy("field kind", "long text"),
    "select": pgettext_lazy("field kind", "list"),
    "checkbox": pgettext_lazy("field kind", "checkbox"),
    "number": pgettext_lazy("field kind", "number"),
    "date": pgettext_lazy("field kind", "date"),
    "hierarchy": pgettext_lazy("field kind", "nested list"),
}


def hde_field_label(field) -> str:
    """"Сегмент (список)": the field's name and kind, never its type code or
    id (an unknown kind is left out)."""
    kind = FIELD_TYPE_WORDS.get(field.field_type)
    return f"{field.name} ({kind})" if kind else field.name


@dataclass
class HdeChoices:
    priorities: list[tuple[int, str]] = field(default_factory=list)
    departments: list[tuple[int, str]] = field(default_factory=list)
    types: list[tuple[int, str]] = field(default_factory=list)
    custom_fields: list[tuple[int, str]] = field(default_factory=list)
    error: str = ""
    # What HDE answered when the lists could not be read (the wizard words
    # its own advice from it), and the entries themselves, for guesses by
    # name in any of the account's languages.
    failure: ApiError | None = None
    priority_refs: list = field(default_factory=list, repr=False)
    field_refs: list = field(default_factory=list, repr=False)

    @property
    def available(self) -> bool:
        return not self.error

    def name_of(self, source: str, item_id) -> str:
        """The name behind an id ("priorities", "departments", "types",
        "custom_fields"); "" when the id is unknown or the lists are down."""
        if item_id in (None, ""):
            return ""
        return next((label for key, label in getattr(self, source)
                     if str(key) == str(item_id)), "")

    def guess(self, source: str, names) -> int | None:
        """The first entry whose name (in any language) is one of `names`:
        HDE's ids are not ordered by severity, so defaults go by name."""
        refs = self.priority_refs if source == "priorities" else self.field_refs
        return next((ref.id for name in names for ref in refs if ref.matches(name)), None)


# A form offering HDE's lists to pick from reads them again when they are
# older than this (seconds): a field or priority created in HDE a moment ago
# must be there to pick, at a cost of a few requests a minute at most.
PICKING_FRESH_FOR = 60


def hde_choices_get(*, shop, picking: bool = False) -> HdeChoices:
    """The lists, read with the shop's *saved* connection.

    Why not `shop.helpdeskeddy`: on the shop page that is the very object
    the posted form fills in, so it may hold a URL typed a moment ago and
    never saved (the form may even be refused). Reading with it would send
    the stored key to whatever was typed; the saved row is what the key was
    entered for.

    `picking`: a form offers the lists to choose from (PICKING_FRESH_FOR);
    otherwise the hour-long cache serves (names on a list or a dry run)."""
    from integration.models import HelpDeskEddyConnection
    from integration.vendors.helpdeskeddy import HelpDeskEddyClient

    connection = (HelpDeskEddyConnection.objects.select_related("shop")
                  .filter(shop_id=shop.pk).first() if shop.pk else None)
    if connection is None:
        return HdeChoices(error=gettext("HelpDeskEddy is not connected for this shop."))
    client = HelpDeskEddyClient.for_connection(connection, interactive=True)
    try:
        age = PICKING_FRESH_FOR if picking else None
        priorities, fields = client.priorities(age), client.custom_fields(age)
        return HdeChoices(
            priorities=[(ref.id, ref.name) for ref in priorities],
            departments=[(ref.id, ref.name) for ref in client.departments(age)],
            types=[(ref.id, ref.name) for ref in client.ticket_types(age)],
            custom_fields=[(f.id, hde_field_label(f)) for f in fields],
            priority_refs=list(priorities), field_refs=list(fields),
        )
    except ApiError as error:
        return HdeChoices(failure=error, error=gettext(
            "HelpDeskEddy lists are unavailable (%(reason)s); type ids instead.")
            % {"reason": people_text(error)})
