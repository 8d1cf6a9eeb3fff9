"""The documented shape of the widget API's answers (`/api/v1/docs/`).

The views answer with `dataclasses.asdict` of the customer context
(integration.customers.types); these serializers only *describe* that shape
to drf-spectacular, field by field, so a client author reads what `/context`
returns instead of `additionalProperties: {}`. They are never used to build
an answer, so the answer cannot drift from the service through them; the API
test compares the documented fields with the dataclasses' fields.
"""

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class OrderItemSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The item as the order names it.")
    quantity = serializers.FloatField()
    price = serializers.FloatField(help_text="Price of one unit, in the order's currency.")
    product_id = serializers.IntegerField(allow_null=True,
                                          help_text="RetailCRM offer id, when known.")


class DeliverySerializer(serializers.Serializer):
    type_name = serializers.CharField(help_text="Delivery type as the account names it "
                                                "(\"Самовывоз\"), never its code.")
    date = serializers.CharField(help_text="ISO date in the shop's time zone, or \"\".")
    address = serializers.CharField()
    track_number = serializers.CharField()


class OrderSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="RetailCRM order id.")
    number = serializers.CharField(help_text="The order number people use.")
    status_code = serializers.CharField()
    status_name = serializers.CharField(help_text=(
        "The status as the account names it; empty when RetailCRM's status book does not "
        "name it (`status_code` holds the code)."))
    status_group = serializers.CharField(
        help_text="RetailCRM status group: new, approval, assembling, delivery, complete, "
                  "cancel.")
    bucket = serializers.ChoiceField(choices=["active", "completed", "cancelled"],
                                     help_text="The card's group for the order.")
    created_at = serializers.CharField(help_text="ISO datetime with offset.")
    total = serializers.FloatField()
    currency = serializers.CharField(help_text="ISO 4217 code, e.g. RUB.")
    items = OrderItemSerializer(many=True)
    delivery = DeliverySerializer()
    payment_state = serializers.ChoiceField(
        choices=["", "paid", "partially_paid", "not_paid"],
        help_text="From the account's own payment statuses; \"\" when unknown.")
    overdue = serializers.BooleanField(help_text="Active and past its delivery date.")
    url = serializers.CharField(help_text="The order in RetailCRM's interface.")


class CustomerProfileSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="RetailCRM customer id.")
    name = serializers.CharField()
    first_name = serializers.CharField(help_text="What a reply greets the customer by.")
    emails = serializers.ListField(child=serializers.CharField())
    phones = serializers.ListField(child=serializers.CharField())
    vip = serializers.BooleanField()
    bad = serializers.BooleanField(help_text="RetailCRM's \"bad customer\" mark.")
    segments = serializers.ListField(child=serializers.CharField(), help_text="Segment codes.")
    segment_names = serializers.ListField(child=serializers.CharField())
    tags = serializers.ListField(child=serializers.CharField())
    created_at = serializers.CharField(help_text="ISO datetime, or \"\".")
    site = serializers.CharField(help_text="The RetailCRM store (site code).")
    personal_discount = serializers.FloatField(help_text="Percent.")
    cumulative_discount = serializers.FloatField(help_text="Percent.")
    custom_fields = serializers.DictField(
        help_text="The customer's custom fields in RetailCRM, by field code.")
    orders_count = serializers.IntegerField()
    total_sum = serializers.FloatField()
    average_sum = serializers.FloatField()
    last_order_at = serializers.CharField(help_text="ISO datetime, or \"\".")
    manager_id = serializers.IntegerField(allow_null=True)
    url = serializers.CharField(help_text="The customer in RetailCRM's interface.")


class ManagerSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="RetailCRM user id.")
    name = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()
    position = serializers.CharField()


class HistoryEntrySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["note", "task", "ticket"])
    at = serializers.CharField(help_text="ISO datetime.")
    text = serializers.CharField()
    author = serializers.CharField()
    done = serializers.BooleanField(allow_null=True,
                                    help_text="Tasks and tickets: finished or not.")
    url = serializers.CharField()


class CandidateSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="RetailCRM customer id: ask again with "
                                            "`customer_id` to pick this one.")
    name = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()
    site = serializers.CharField()
    orders_count = serializers.IntegerField()


class CustomerContextSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["found", "unknown", "several", "unavailable"],
        help_text="found: `customer` is set; unknown: nobody matches; several: pick one of "
                  "`candidates`; unavailable: RetailCRM did not answer (see `notice`).")
    customer = CustomerProfileSerializer(allow_null=True)
    orders = OrderSummarySerializer(many=True, help_text="Newest first; the order named in "
                                                         "the ticket pinned first.")
    orders_total_count = serializers.IntegerField()
    orders_page = serializers.IntegerField()
    pinned_order_number = serializers.CharField()
    manager = ManagerSerializer(allow_null=True, help_text="The customer's responsible "
                                                           "manager.")
    history = HistoryEntrySerializer(many=True, help_text="Notes, tasks and earlier HDE "
                                                          "tickets, newest first.")
    candidates = CandidateSerializer(many=True)
    matched_by = serializers.CharField(
        help_text="How the customer was found: email, phone, order_number, remembered, id.")
    fetched_at = serializers.CharField(help_text="When RetailCRM was read (ISO datetime).")
    cache_age_seconds = serializers.IntegerField(allow_null=True,
                                                 help_text="null: read just now.")
    notice = serializers.CharField(help_text="What is missing or stale, in words; \"\" when "
                                             "all is well.")
    complete = serializers.BooleanField(
        help_text="False only for a first step (`parts=first`, a customer found by e-mail): "
                  "the profile and the orders found by the e-mail are there; the notes, the "
                  "history and orders placed under another e-mail come from `next_url`.")
    next_url = serializers.URLField(
        required=False, help_text="Only when `complete` is false: the second step (the same "
                                  "query with `parts=all`), which answers without searching "
                                  "again.")


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, in words.")


CONTEXT_RESPONSES = {
    200: CustomerContextSerializer,
    400: OpenApiResponse(description="Bad or missing query parameters: each parameter with "
                                     "what is wrong with it (`non_field_errors` when none was "
                                     "given), or a `detail` (a ticket asked of a shop without "
                                     "HelpDeskEddy)."),
    401: OpenApiResponse(DetailSerializer, description="No widget token, or an unknown or "
                                                       "revoked one."),
    502: OpenApiResponse(DetailSerializer, description="HelpDeskEddy did not answer about "
                                                       "the ticket."),
}
