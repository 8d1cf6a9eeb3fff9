from django.apps import AppConfig


class SandboxRetailCrmConfig(AppConfig):
    """Emulator of the RetailCRM API v5 (its own tables, URLs under
    /sandbox/retailcrm/<account>/api/...)."""

    name = "sandbox.retailcrm"
    label = "sandbox_retailcrm"
    verbose_name = "Sandbox: RetailCRM emulator"
