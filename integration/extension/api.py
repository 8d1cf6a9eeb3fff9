"""The extension's API: `GET /api/v1/extension/config` (where the panel
appears) and `POST /api/v1/extension/widget-url` (a signed widget link for a
ticket). Both authenticate with `Authorization: Bearer <extension token>`
before the body is read. Errors carry a stable `code` the extension acts on
and a `detail` in the browser's language (Accept-Language)."""

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import authentication, exceptions, permissions, serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from integration.extension import conf
from integration.extension.services import (
    NoShop,
    UnknownTicket,
    extension_sites,
    extension_token_authenticate,
    extension_widget_url,
)


def _signed_out() -> str:
    return _("Sign in again: this browser's extension token is unknown or has been revoked.")


class ExtensionTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _sep, presented = header.partition(" ")
        token = extension_token_authenticate(presented.strip()) \
            if scheme.lower() == "bearer" else None
        if token is None:
            raise exceptions.AuthenticationFailed(_signed_out())
        return AnonymousUser(), token

    def authenticate_header(self, request):
        return 'Bearer realm="extension"'


class HasExtensionToken(permissions.BasePermission):
    def has_permission(self, request, view):
        return isinstance(request.successful_authenticator, ExtensionTokenAuthentication)


class ExtensionTokenScheme(OpenApiAuthenticationExtension):
    target_class = "integration.extension.api.ExtensionTokenAuthentication"
    name = "extensionToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "Per-operator browser-extension token (issued in the admin, "
                               "shown once)."}


class ExtensionApi(APIView):
    authentication_classes = [ExtensionTokenAuthentication]
    permission_classes = [HasExtensionToken]
    parser_classes = [JSONParser]

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
            response.data = {"code": "signed_out", "detail": _signed_out()}
        elif isinstance(exc, (exceptions.ParseError, exceptions.ValidationError,
                              exceptions.UnsupportedMediaType)):
            response.status_code = status.HTTP_400_BAD_REQUEST
            response.data = {"code": "malformed",
                             "detail": _("The extension sent a request the portal cannot "
                                         "read. Update the extension.")}
        return response


class ConfigApi(ExtensionApi):
    """Where the panel appears: the HDE systems of the agency's shops and the
    ticket-page pattern (a regular expression over the address after the
    system's URL; group 1 is the ticket id)."""

    @extend_schema(responses={200: inline_serializer("ExtensionConfig", {
        "agency": serializers.CharField(),
        "sites": serializers.ListField(child=serializers.DictField()),
        "ticket_pattern": serializers.CharField(),
    })})
    def get(self, request):
        agency = request.auth.agency
        return Response({"agency": agency.name, "sites": extension_sites(agency=agency),
                         "ticket_pattern": conf.ticket_pattern()})


class WidgetUrlBody(serializers.Serializer):
    page_url = serializers.URLField(max_length=2000)
    ticket_id = serializers.IntegerField(min_value=1, max_value=2**31 - 1)


class WidgetUrlApi(ExtensionApi):
    """A signed, short-lived widget link for a ticket of one of the agency's
    shops, chosen by the HDE page's address."""

    @extend_schema(request=WidgetUrlBody, responses={200: inline_serializer("ExtensionWidgetUrl", {
        "url": serializers.URLField(), "expires_at": serializers.DateTimeField(),
        "shop": serializers.CharField(), "ticket_id": serializers.IntegerField(),
    })})
    def post(self, request):
        body = WidgetUrlBody(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            link = extension_widget_url(token=request.auth, **body.validated_data)
        except NoShop:
            return Response({"code": "no_shop",
                             "detail": _("None of your agency's shops uses this HelpDeskEddy "
                                         "address. Check the shop's HelpDeskEddy URL in the "
                                         "portal.")}, status=status.HTTP_404_NOT_FOUND)
        except UnknownTicket:
            return Response({"code": "unknown_ticket",
                             "detail": _("HelpDeskEddy has no such ticket.")},
                            status=status.HTTP_404_NOT_FOUND)
        return Response({"url": link.url, "expires_at": link.expires_at.isoformat(),
                         "shop": link.shop.name, "ticket_id": link.ticket_id})
