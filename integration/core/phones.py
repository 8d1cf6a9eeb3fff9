"""Phone numbers, read the way people and RetailCRM write them.

RetailCRM keeps a phone as the manager typed it: `8 (916) 123-45-67`,
`+7 916 1234567` and `79161234567` are one number. The lookups compare
them in E.164 (`integration.vendors.retailcrm_parsing.normalise_phone`);
what a person reads (the card, a proactive ticket, a reply) shows every
form the same way, the international one: `+7 916 123-45-67`
(`integration.core.formatting.phone_shown`). Parsing is the `phonenumbers`
library's (Google's libphonenumber data), not ours.
"""

import phonenumbers

# The shops are Russian-speaking stores: a number written without a
# country code is read as a Russian one.
DEFAULT_REGION = "RU"


def phone_parse(raw: str, region: str = DEFAULT_REGION) -> phonenumbers.PhoneNumber | None:
    """The number in `raw`, or None when it does not read as a possible
    phone number."""
    if not raw:
        return None
    digits = "".join(ch for ch in raw if ch.isdigit())
    candidate = raw.strip()
    # A bare 11-digit "7XXXXXXXXXX" has no "+" and would read as national.
    if not candidate.startswith("+") and len(digits) == 11 and digits[0] == "7":
        candidate = "+" + digits
    try:
        number = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_possible_number(number) else None
