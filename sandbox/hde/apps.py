from django.apps import AppConfig


class SandboxHdeConfig(AppConfig):
    """Emulator of the HelpDeskEddy API v2 (its own tables, URLs under
    /sandbox/hde/<account>/api/v2/..., a ticket page and a dispatcher)."""

    name = "sandbox.hde"
    label = "sandbox_hde"
    verbose_name = "Sandbox: HelpDeskEddy emulator"
