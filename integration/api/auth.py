"""Widget API authentication: a per-shop bearer token, stored hashed.

The token decides the shop; views never read a shop id from the request, so
a token of shop A can only ever see shop A's customers.
"""

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from integration.tenancy.secrets import is_widget_token, widget_token_lookup


class WidgetTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer <widget token>'.")
        secret = widget_token_lookup(presented=token.strip())
        if secret is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked widget token.")
        return AnonymousUser(), secret

    def authenticate_header(self, request):
        return 'Bearer realm="widget"'


class HasWidgetToken(permissions.BasePermission):
    message = "A widget token is required: 'Authorization: Bearer <token>'."

    def has_permission(self, request, view):
        return is_widget_token(request.auth)


class WidgetTokenScheme(OpenApiAuthenticationExtension):
    """Tells the OpenAPI schema how widget requests authenticate."""

    target_class = "integration.api.auth.WidgetTokenAuthentication"
    name = "widgetToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "Per-shop widget token (issued in the admin, shown once)."}
