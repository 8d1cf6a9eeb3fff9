"""Widget JSON API (`/api/v1/...`): the customer context and the operator's
actions, for a help-desk sidebar or any other client that holds a shop's
widget token.

The token stands for the whole shop (it is issued to an integration, not to
one ticket), so the API may name any customer, but only inside the shop's
store: a `customer_id` of another store reads as "no such customer" and
writes to it are refused (integration.customers.context). The actions are
the widget page's services; the `nonce` of an action is the client's own
idempotency key (kept apart from the page's server-issued nonces).
"""

import time
import uuid
from dataclasses import asdict

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from integration.api.auth import HasWidgetToken, WidgetTokenAuthentication
from integration.api.context_schema import CONTEXT_RESPONSES
from integration.customers.context import customer_context_get
from integration.tickets.info import (
    requester_notice,
    ticket_info_get,
    ticket_record_customer_id,
)
from integration.vendors.errors import ApiError, vendor_said
from integration.widget import actions as widget_actions
from integration.widget.card import widget_request_record


class WidgetApi(APIView):
    authentication_classes = [WidgetTokenAuthentication]
    permission_classes = [HasWidgetToken]

    @property
    def shop(self):
        return self.request.auth.shop


class ContextApi(WidgetApi):
    """Who is behind a ticket: profile, orders, history, manager."""

    class ContextQuerySerializer(serializers.Serializer):
        email = serializers.EmailField(required=False, allow_blank=True)
        phone = serializers.CharField(required=False, allow_blank=True, max_length=40)
        ticket_id = serializers.IntegerField(required=False, min_value=1)
        order_number = serializers.CharField(required=False, allow_blank=True, max_length=40)
        customer_id = serializers.IntegerField(required=False, min_value=1)
        page = serializers.IntegerField(required=False, min_value=1, max_value=500, default=1)
        refresh = serializers.BooleanField(required=False, default=False)
        parts = serializers.ChoiceField(
            choices=["all", "first"], required=False, default="all",
            help_text="`first`: answer after one RetailCRM round-trip where the lookup allows "
                      "(a customer found by e-mail: profile and orders), with `complete: "
                      "false` and `next_url` for the rest; `all` (default): the complete "
                      "context.")

        def validate(self, data):
            if not any(data.get(k) for k in ("email", "phone", "ticket_id", "order_number",
                                               "customer_id")):
                raise serializers.ValidationError(
                    "Give at least one of: email, phone, ticket_id, order_number, customer_id.")
            return data

    @extend_schema(parameters=[ContextQuerySerializer], responses=CONTEXT_RESPONSES)
    def get(self, request):
        started = time.monotonic()
        params = self.ContextQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        request_id = uuid.uuid4().hex
        ticket = None
        customer_id = data.get("customer_id")
        if data.get("ticket_id"):
            if getattr(self.shop, "helpdeskeddy", None) is None:
                return Response({"detail": _("This shop is not connected to HelpDeskEddy: "
                                             "look the customer up by e-mail, phone or "
                                             "order number.")},
                                status=status.HTTP_400_BAD_REQUEST)
            try:
                ticket = ticket_info_get(shop=self.shop, ticket_id=data["ticket_id"],
                                         request_id=request_id)
            except ApiError as error:
                return Response({"detail": vendor_said(error, "HelpDeskEddy")},
                                status=status.HTTP_502_BAD_GATEWAY)
            customer_id = customer_id or ticket_record_customer_id(shop=self.shop,
                                                            ticket_id=data["ticket_id"])
        context = customer_context_get(
            shop=self.shop, email=data.get("email", ""), phone=data.get("phone", ""),
            order_number=data.get("order_number", ""), ticket=ticket, customer_id=customer_id,
            hde_user_id=ticket.user_id if ticket else None, page=data["page"],
            refresh=data["refresh"], request_id=request_id, parts=data["parts"],
        )
        if ticket is not None and ticket.requester_error:
            # Answer with what is known, as the card page does.
            context.notice = " ".join(filter(None, [requester_notice(ticket), context.notice]))
        widget_request_record(shop=self.shop, request_id=request_id, channel="api",
                              started=started, context=context)
        answer = asdict(context)
        if not context.complete:
            query = request.query_params.copy()
            query["parts"] = "all"
            query.pop("refresh", None)  # the first step read afresh; the second follows it
            answer["next_url"] = request.build_absolute_uri(
                f"{request.path}?{query.urlencode()}")
        return Response(answer)


class _ActionApi(WidgetApi):
    def run(self, serializer_class, action):
        params = serializer_class(data=self.request.data)
        params.is_valid(raise_exception=True)
        try:
            result = action(params.validated_data)
        except widget_actions.ActionRefused as refused:
            return Response({"detail": str(refused)}, status=status.HTTP_400_BAD_REQUEST)
        except ApiError as error:
            return Response({"detail": vendor_said(error, "RetailCRM"),
                             "errors": error.errors}, status=status.HTTP_502_BAD_GATEWAY)
        return Response({"ok": True, "id": result}, status=status.HTTP_201_CREATED)


class NoteCreateApi(_ActionApi):
    class NoteInputSerializer(serializers.Serializer):
        customer_id = serializers.IntegerField(min_value=1)
        text = serializers.CharField(max_length=5000)
        nonce = serializers.CharField(max_length=64)
        ticket_id = serializers.IntegerField(required=False, min_value=1, default=0)

    @extend_schema(request=NoteInputSerializer, responses={201: dict})
    def post(self, request):
        return self.run(self.NoteInputSerializer, lambda d: widget_actions.widget_note_add(
            shop=self.shop, customer_id=d["customer_id"], text=d["text"],
            key=f"api:{d['nonce']}", ticket_id=d["ticket_id"]))


class TaskCreateApi(_ActionApi):
    class TaskInputSerializer(serializers.Serializer):
        customer_id = serializers.IntegerField(min_value=1)
        text = serializers.CharField(max_length=2000, required=False, allow_blank=True,
                                     default="")
        nonce = serializers.CharField(max_length=64)
        manager_id = serializers.IntegerField(required=False, min_value=1)
        ticket_id = serializers.IntegerField(required=False, min_value=1, default=0)

    @extend_schema(request=TaskInputSerializer, responses={201: dict})
    def post(self, request):
        return self.run(self.TaskInputSerializer, lambda d: widget_actions.widget_task_create(
            shop=self.shop, customer_id=d["customer_id"], text=d["text"],
            key=f"api:{d['nonce']}", manager_id=d.get("manager_id"), ticket_id=d["ticket_id"]))


class CustomerCreateApi(_ActionApi):
    class CustomerInputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                     default="")
        email = serializers.EmailField(required=False, allow_blank=True, default="")
        phone = serializers.CharField(max_length=40, required=False, allow_blank=True,
                                      default="")
        nonce = serializers.CharField(max_length=64)
        ticket_id = serializers.IntegerField(
            required=False, min_value=1,
            help_text="Link the new customer to this HDE ticket and its requester, as the "
                      "widget page does.")
        hde_user_id = serializers.IntegerField(
            required=False, min_value=1,
            help_text="Without a ticket: remember the new customer for this HDE user.")

    @extend_schema(request=CustomerInputSerializer, responses={201: dict})
    def post(self, request):
        def create(d):
            return widget_actions.widget_customer_create(
                shop=self.shop, name=d["name"], email=d["email"], phone=d["phone"],
                key=f"api:{d['nonce']}", ticket_id=d.get("ticket_id"),
                hde_user_id=d.get("hde_user_id")).id

        return self.run(self.CustomerInputSerializer, create)
