"""Emulator URLs, mounted under /sandbox/ when SANDBOX_ENABLED."""

urlpatterns = []
