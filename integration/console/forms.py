"""Admin forms. Secrets are write-only: never rendered back, blank keeps the
stored value, only a masked hint is shown."""

from django import forms
from django.utils.translation import gettext_lazy as _


class WriteOnlySecretForm(forms.ModelForm):
    secret_field = "api_key"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.secret_field not in self.fields:
            return  # read-only page: the key is not a form field at all
        field = self.fields[self.secret_field]
        field.widget = forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})
        self.initial[self.secret_field] = ""
        current = getattr(self.instance, "key_hint", "") if self.instance.pk else ""
        if current:
            field.required = False
            field.help_text = _("Stored key: %(hint)s. Leave blank to keep it.") % {"hint": current}
        else:
            field.help_text = _("Paste the API key. It is encrypted and never shown again.")

    def clean_api_key(self):
        value = (self.cleaned_data.get(self.secret_field) or "").strip()
        if not value and self.instance.pk:
            return type(self.instance).objects.get(pk=self.instance.pk).api_key
        if not value:
            raise forms.ValidationError(_("An API key is required."))
        return value

    def has_changed(self):
        # A blank secret means "keep": it alone does not make the form dirty.
        changed = [name for name in self.changed_data if name != self.secret_field]
        return bool(changed) or bool(self.data.get(self.add_prefix(self.secret_field)))
