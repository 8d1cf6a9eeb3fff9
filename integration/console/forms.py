"""Admin forms. Secrets are write-only: never rendered back, blank keeps the
stored value, only a masked hint is shown. A kept key stays bound to the
origin it was entered for: moving the URL to another origin needs the key
again (integration.models.connections.ConnectionBase)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from integration.core.outbound_policy import account_url
from integration.models import ConnectionStatus


class WriteOnlySecretForm(forms.ModelForm):
    secret_field = "api_key"
    url_field = "base_url"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.key_typed = False
        if self.secret_field not in self.fields:
            return  # read-only page: the key is not a form field at all
        field = self.fields[self.secret_field]
        field.widget = forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})
        self.initial[self.secret_field] = ""
        current = getattr(self.instance, "key_hint", "") if self.instance.pk else ""
        if current:
            field.required = False
            field.help_text = _("Stored key: %(hint)s. Leave blank to keep it; enter it again "
                                "when the address changes.") % {"hint": current}
        else:
            field.help_text = _("Paste the API key. It is encrypted and never shown again.")

    def _stored(self):
        return type(self.instance).objects.filter(pk=self.instance.pk).first()

    def clean_api_key(self):
        value = (self.cleaned_data.get(self.secret_field) or "").strip()
        self.key_typed = bool(value)
        if not value and self.instance.pk:
            stored = self._stored()
            return stored.api_key if stored else ""
        if not value:
            raise forms.ValidationError(_("An API key is required."))
        return value

    def clean(self):
        """A kept key may only stay with the account address it was entered
        for: a URL moved to another scheme, host, port or path without the
        key typed again is refused, so the stored key never follows a URL to
        a new place, another account on the same host included (not even for
        a "Test connections" click on the saved row)."""
        data = super().clean()
        url = data.get(self.url_field)
        if (self.instance.pk and self.secret_field in self.fields and not self.key_typed
                and url and self.secret_field not in self.errors):
            stored = self._stored()
            if stored is not None and account_url(url) != stored.key_origin:
                self.add_error(self.secret_field, _(
                    "The address changed to another site or account: enter the API key "
                    "again. A stored key is only ever sent to the address it was entered "
                    "for."))
        return data

    def save(self, commit=True):
        if self.key_typed:
            # Typed with this URL: bound to it (also when it is the same key).
            self.instance.bind_key()
            # Another key has not been refused yet: "key refused" (and the
            # alert banner that reads it) would be stale until the next call.
            # The connection reads "not tested yet" until one is made. The
            # same refused key typed again stays refused.
            stored = self._stored() if self.instance.pk else None
            if (getattr(self.instance, "status", None) == ConnectionStatus.NEEDS_ATTENTION
                    and (stored is None or stored.api_key != self.instance.api_key)):
                self.instance.status = ConnectionStatus.UNKNOWN
                self.instance.last_error = ""
                self.instance.consecutive_failures = 0
        return super().save(commit)

    def has_changed(self):
        # A blank secret means "keep": it alone does not make the form dirty.
        changed = [name for name in self.changed_data if name != self.secret_field]
        return bool(changed) or bool(self.data.get(self.add_prefix(self.secret_field)))
