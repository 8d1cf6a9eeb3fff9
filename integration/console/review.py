"""“Mark as reviewed” on a shop's priority rules and reply templates: the
getting-started checklist's record of a review (the decision and why:
integration.onboarding.checklist).

Mixed into the two ModelAdmins. The list filtered to one shop (where the
checklist links) shows when the shop's list was last marked as reviewed and,
to its owners and admins, the button; saving a rule or template of a shop
counts as reviewing that shop's list too."""

from django.urls import reverse

from integration.onboarding.checklist import shop_review_mark, shop_review_state
from integration.tenancy.access import can_edit_agency_data, shops_for_user


class ReviewMarkMixin:
    review_kind = ""  # "rules" or "templates"

    def _review_box(self, request) -> dict | None:
        shop_id = request.GET.get("shop__id__exact", "")
        if not shop_id.isdigit():
            return None
        shop = shops_for_user(request.user).filter(pk=int(shop_id)).first()
        if shop is None:
            return None
        return {
            "shop": shop, "kind": self.review_kind,
            "reviewed_at": shop_review_state(shop=shop, kind=self.review_kind),
            "can_mark": can_edit_agency_data(request.user, shop.agency_id),
            "url": reverse("admin:console-review-mark", args=[shop.public_id, self.review_kind]),
        }

    def changelist_view(self, request, extra_context=None):
        extra = {"review": self._review_box(request), **(extra_context or {})}
        return super().changelist_view(request, extra)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        shop_review_mark(shop=obj.shop, kind=self.review_kind)
