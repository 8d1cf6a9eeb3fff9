from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from integration.models import SecretKind, Shop
from integration.tenancy.secrets import shop_secret_issue, shop_secret_revoke_all


class Command(BaseCommand):
    help = ("Issue a widget API token for a shop and print it (shown once; only its hash is "
            "stored). --revoke-all revokes the shop's tokens first.")

    def add_arguments(self, parser):
        parser.add_argument("shop_public_id")
        parser.add_argument("--label", default="cli")
        parser.add_argument("--revoke-all", action="store_true")

    def handle(self, *args, shop_public_id, label, revoke_all, **options):
        try:
            shop = Shop.objects.get(public_id=shop_public_id)
        except (Shop.DoesNotExist, ValueError, TypeError, ValidationError):
            raise CommandError(f"No shop with public id {shop_public_id}.") from None
        if revoke_all:
            count = shop_secret_revoke_all(shop=shop, kind=SecretKind.WIDGET_TOKEN)
            self.stderr.write(f"Revoked {count} token(s) of {shop.name}.")
        self.stdout.write(shop_secret_issue(shop=shop, kind=SecretKind.WIDGET_TOKEN, label=label))
