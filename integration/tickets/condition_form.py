"""The form of one rule condition on the rules page.

Only the operators that make sense for the chosen field are offered (the
field's `<option>` lists them for static/console/rules.js, and `clean`
refuses the rest, scripts or not), and statuses, status groups, departments
and ticket types are picked by name from the vendors' lists. The value is
one text box plus one list per kind of pick; the posted field says which of
them holds the value, so the model keeps a single `value` column.
"""

from django import forms
from django.forms.widgets import Select
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from integration.models import Operator, RuleCondition
from integration.tickets.priority import (
    MONEY_FIELDS,
    NUMBER_FIELDS,
    PICKED_FIELDS,
    YES_NO_FIELDS,
    operators_for,
)
from integration.tickets.rules_text import field_choices, field_label


class FieldSelect(Select):
    """Each field option says which operators and which list go with it."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        if value:
            option["attrs"]["data-operators"] = " ".join(operators_for(value))
            option["attrs"]["data-pick"] = PICKED_FIELDS.get(value, "")
            option["attrs"]["data-kind"] = (
                "yes-no" if value in YES_NO_FIELDS else
                "number" if value in NUMBER_FIELDS | MONEY_FIELDS else "text")
        return option


class ConditionValueWidget(forms.Widget):
    """A text box and, per list the shop's vendors gave, a dropdown of
    names. `lists` maps a list name ("statuses") to (code, name) pairs."""

    def __init__(self, lists=None, attrs=None):
        super().__init__(attrs)
        self.lists = lists or {}

    @staticmethod
    def _field_key(name: str) -> str:
        return name[: -len("value")] + "field"  # "conditions-0-value" → "…-field"

    def value_from_datadict(self, data, files, name):
        source = PICKED_FIELDS.get(data.get(self._field_key(name)) or "")
        if source in self.lists:
            return data.get(f"{name}__{source}", "")
        return data.get(name, "")

    def render(self, name, value, attrs=None, renderer=None):
        attrs = self.build_attrs(self.attrs, attrs)
        value = "" if value is None else str(value)
        text = format_html('<input type="text" name="{}" value="{}" id="{}" maxlength="300" '
                           'class="vTextField" data-value-input>', name, value,
                           attrs.get("id", ""))
        selects = []
        for source, options in self.lists.items():
            known = {code for code, _label in options}
            rows = [("", "—", "")] + [(code, label, " selected" if code == value else "")
                                      for code, label in options]
            if value and value not in known:
                rows.append((value, value, ""))  # a code typed before the lists existed
            selects.append(format_html(
                '<select name="{}__{}" data-value-pick="{}" aria-label="{}">{}</select>',
                name, source, source, gettext("Value"),
                format_html_join("", '<option value="{}"{}>{}</option>',
                                 ((code, mark_safe(sel), label) for code, label, sel in rows))))
        return format_html('<span class="condition-value">{}{}</span>', text,
                           mark_safe("".join(selects)))


def _blank_then(choices):
    return lambda: [("", "---------"), *choices()]


def condition_form_for(names=None):
    """The condition form for a shop whose lists are in `names` (a
    RuleNames); without it (a rule not saved yet) values are typed."""
    lists = {}
    if names is not None:
        for source in set(PICKED_FIELDS.values()):
            if not names.list_error(source):
                lists[source] = names.choices(source)

    class RuleConditionForm(forms.ModelForm):
        # A blank first choice: the inline's spare row must stay unchanged
        # until someone picks a field, or Django saves it. With the first
        # field preselected (and "is true" as the operator's default) every
        # save of a rule added "customer is unknown is true" to it.
        field = forms.ChoiceField(label=_("field"), choices=_blank_then(field_choices),
                                  widget=FieldSelect)
        value = forms.CharField(label=_("value"), required=False, max_length=300,
                                widget=ConditionValueWidget(lists=lists))

        class Meta:
            model = RuleCondition
            fields = ("field", "operator", "value")

        def clean(self):
            data = super().clean()
            field, operator = data.get("field"), data.get("operator")
            if not field or not operator:
                return data
            if operator not in operators_for(field):
                self.add_error("operator", gettext(
                    "“%(operator)s” does not apply to “%(field)s”; choose one of: "
                    "%(allowed)s.") % {
                    "operator": Operator(operator).label, "field": field_label(field),
                    "allowed": ", ".join(str(Operator(o).label) for o in operators_for(field))})
                return data
            value = (data.get("value") or "").strip()
            if field in YES_NO_FIELDS:
                data["value"] = ""  # unused: "is true" needs no value
            elif not value:
                self.add_error("value", gettext("Enter or pick a value."))
            elif field in NUMBER_FIELDS | MONEY_FIELDS:
                try:
                    float(value.replace(" ", "").replace(",", "."))
                except ValueError:
                    self.add_error("value", gettext("Enter a number."))
            return data

    return RuleConditionForm
