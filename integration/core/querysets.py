"""The one tenant filter for every shop-owned model."""

from django.db import models


class ShopOwnedQuerySet(models.QuerySet):
    def for_shop(self, shop):
        return self.filter(shop=shop)

    def for_user(self, user):
        from integration.tenancy.access import shops_for_user

        return self.filter(shop__in=shops_for_user(user))
