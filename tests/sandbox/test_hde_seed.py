"""The HDE seed is the contract the portal's seed wiring and the demo use.

Why: the lead's `sandbox_seed` reads account codes, URLs, agent e-mails and
keys from it, and the demo relies on every lookup path being present (known
e-mail, unknown sender, phone-only contact, order numbers in subjects).
Determinism matters: the same seed twice must give the same ids.
"""

from sandbox.demo_people import PEOPLE
from sandbox.hde import services as svc
from sandbox.hde.models import Account, CustomField, HdeUser, Priority, Ticket
from sandbox.hde.seed import seed


def snapshot():
    return [(t.account.code, t.hid, t.unique_id, t.title, t.user.email, t.status_id)
            for t in Ticket.objects.select_related("account", "user").order_by("account", "hid")]


def test_seed_returns_the_accounts_the_portal_needs(db):
    data = seed(base_url="http://127.0.0.1:8000/")

    assert [a["code"] for a in data["accounts"]] == ["demo", "agency-second"]
    demo = data["accounts"][0]
    assert demo == {
        "code": "demo", "url": "http://127.0.0.1:8000/sandbox/hde/demo",
        "email": "integration@demo-shop.example", "api_key": "hde-demo-3c1f0a9e7b52d4",
        "agent_user_id": 1, "ticket_page": "http://127.0.0.1:8000/sandbox/hde/demo/tickets/",
    }
    for info in data["accounts"]:
        agent = HdeUser.objects.get(account__code=info["code"], email=info["email"])
        assert agent.api_key == info["api_key"] and agent.group_type == HdeUser.STAFF


def test_seed_is_deterministic_and_wipes_what_was_there(db):
    seed(base_url="http://x")
    first = snapshot()
    demo = Account.objects.get(code="demo")
    Account.objects.filter(pk=demo.pk).update(requests_received=99, fault_next=3)
    svc.create_ticket(demo, {"title": "extra", "description": "x"},
                      svc.Actor(HdeUser.objects.get(account=demo, hid=1)))

    seed(base_url="http://x")

    assert snapshot() == first
    again = Account.objects.get(code="demo")
    assert (again.requests_received, again.fault_next, again.rate_limit_per_minute,
            again.ban_seconds) == (0, 0, 300, 1200)


def test_seed_covers_every_lookup_path(db):
    seed(base_url="http://x")
    demo = Account.objects.get(code="demo")
    titles = {t.title: t for t in Ticket.objects.filter(account=demo).select_related("user")}

    clients = HdeUser.objects.filter(account=demo, group_type=HdeUser.CLIENT)
    assert {person.key for person in PEOPLE} and clients.count() == len(PEOPLE) + 1
    assert titles["Где мой заказ 1001A?"].user.email == "anna.smirnova@example.ru"
    assert titles["Заказ 1004A задерживается"].status_id == "process"
    phone_only = titles["Звонок: вопрос по доставке"].user
    assert (phone_only.email, phone_only.phone) == ("79992223344@phone.invalid",
                                                    "8-999-222-33-44")
    assert titles["Хочу купить подарочный сертификат"].user.email == "stranger@example.com"
    assert titles["Здравствуйте, есть ли в наличии?"].user.email == "newcomer@example.net"
    assert titles["Спасибо за быструю доставку"].status_id == "closed"
    # A person writes from the phone as they type it to support.
    vip = HdeUser.objects.get(account=demo, email="anna.smirnova@example.ru")
    assert vip.phone == "89161234567"


def test_seed_dictionaries_and_custom_fields(db):
    seed(base_url="http://x")
    for code in ("demo", "agency-second"):
        fields = {f.name["en"]: f.hid for f in CustomField.objects.filter(account__code=code)}
        assert fields == {"CRM card": 1, "RetailCRM customer id": 2, "Orders count": 3,
                          "Total spent": 4, "Last order status": 5, "Segment": 6}
        priorities = {p.hid: p.name["en"] for p in Priority.objects.filter(account__code=code)}
        assert priorities == {1: "Very urgent", 2: "Standard", 3: "Medium", 4: "Low"}
    second = Ticket.objects.filter(account__code="agency-second").order_by("hid")
    assert [t.hid for t in second] == [1, 2, 3]
