"""Issuing a new webhook secret from the shops list, in a real browser, as an
impatient person does it.

The adversarial pass found two ways to lose a secret just issued: a second
click on "Yes" while the first answer was on its way showed only the
repeat's answer ("nothing issued again"), so the new secret was never seen;
and the pages said nothing about the secret in force. Here: the confirmation
names each shop's secret in force and who issued it, a double submit sends
one request and shows the secret, a reload issues nothing and says what is
in force, and "Issue a new one…" asks again before issuing. Both languages.
"""

import os
import re

import pytest

from integration.models import SecretKind, ShopSecret
from integration.tenancy.roles import sync_role_groups
from integration.tenancy.secrets import shop_secret_issue, shop_secret_match
from tests.screenshots import save_screenshot

PASSWORD = "pw-123456!"  # make_member's default
WORDS = {
    "en": {"title": "New HDE webhook secrets",
           "nothing": "New HDE webhook secrets: nothing was issued",
           "in_force": "secret in force …{hint}, issued less than a minute ago by"},
    "ru": {"title": "Новые секреты вебхука HDE",
           "nothing": "Новые секреты вебхука HDE: ничего не выпущено",
           "in_force": "действующий секрет …{hint}, выпущен меньше минуты назад пользователем"},
}


def _active(shop):
    return list(ShopSecret.objects.filter(shop=shop, kind=SecretKind.HDE_WEBHOOK,
                                          revoked_at__isnull=True))


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["en", "ru"])
def test_a_double_click_and_a_reload_leave_the_secret_just_shown_in_force(
        two_tenants, live_server, browser, artifacts_dir, language):
    sync_role_groups()
    shop, owner = two_tenants["a"]["shop"], two_tenants["a"]["owner"]
    first = shop_secret_issue(shop=shop, kind=SecretKind.HDE_WEBHOOK, replace=True,
                              issued_by=owner)
    words = WORDS[language]
    context = browser.new_context(locale={"en": "en-US", "ru": "ru-RU"}[language],
                                  viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30000)
    shot = lambda name: save_screenshot(  # noqa: E731
        page, os.path.join(artifacts_dir, f"secrets-{language}-{name}.png"))

    page.goto(f"{live_server.url}/admin/login/?next=/admin/integration/shop/")
    page.fill("#id_username", owner.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/integration/shop/$"))
    page.check(f"input[name=_selected_action][value='{shop.pk}']")
    page.select_option("select[name=action]", "issue_hde_webhook_secret")
    page.click("button[name=index]")

    # The confirmation names the secret in force: its end, who issued it.
    listed = page.locator("#shops-to-reissue").inner_text()
    assert words["in_force"].format(hint=first[-4:]) in listed and owner.username in listed
    assert page.locator("h1").inner_text() == words["title"]
    shot("1-confirm")

    # "Yes" clicked twice, the second time before the first answer came: the
    # page refuses the second submit, so the answer shown is the one that
    # carries the new secret (the portal would refuse a repeat anyway, but
    # its answer would then be the only page the person sees). Both clicks
    # in one script: a page with a submission under way runs no other.
    with page.expect_navigation():
        submits = page.evaluate("""() => {
            const submits = [];
            document.addEventListener('submit', e => submits.push(e.defaultPrevented));
            const yes = document.querySelector('input[type=submit].default');
            yes.click(); yes.click();
            return submits; }""")
    assert submits == [False, True]
    page.locator("#new-secrets").wait_for()
    shown = page.locator("[data-secret]").inner_text().strip()
    [active] = _active(shop)
    assert shop_secret_match(shop=shop, kind=SecretKind.HDE_WEBHOOK, presented=shown)
    shot("2-issued")

    # The browser sends the same POST again on a reload: nothing new, and the
    # page names the secret in force (the one just shown).
    page.reload()
    page.locator("#already-issued").wait_for()
    assert page.locator("[data-secret]").count() == 0
    assert _active(shop) == [active]
    assert page.locator("h1").inner_text() == words["nothing"]
    assert words["in_force"].format(hint=shown[-4:]) in page.locator("#already-issued").inner_text()
    shot("3-reloaded")

    # "Issue a new one…" asks again, naming that secret; "Yes" replaces it.
    page.click("#issue-again")
    listed = page.locator("#shops-to-reissue").inner_text()
    assert words["in_force"].format(hint=shown[-4:]) in listed
    page.click("input[type=submit].default")
    page.locator("#new-secrets").wait_for()
    again = page.locator("[data-secret]").inner_text().strip()
    assert again != shown and [s.hint for s in _active(shop)] == [again[-4:]]
    context.close()
