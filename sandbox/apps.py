from django.apps import AppConfig


class SandboxConfig(AppConfig):
    """Emulators of RetailCRM API v5 and HelpDeskEddy API v2.

    Always installed (its tables exist everywhere, so migrations never depend
    on a flag); its URLs are mounted only when SANDBOX_ENABLED.
    """

    name = "sandbox"
    verbose_name = "Sandbox (vendor emulators)"
