"""The demo cast shared by both emulators' seeds.

The RetailCRM seed creates these people as customers (with the listed order
profiles); the HDE seed creates tickets from them, so the demo and the tests
exercise every lookup path: e-mail, phone in mixed formats, order number in
the subject, several matches, unknown senders. Keep it deterministic.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DemoPerson:
    key: str
    first_name: str
    last_name: str
    email: str = ""
    # As stored in RetailCRM: deliberately mixed formats.
    phone: str = ""
    # As the person writes it to support (HDE side), when it differs.
    phone_in_hde: str = ""
    orders: int = 0
    vip: bool = False
    segments: tuple[str, ...] = ()
    # Status code of the newest order, when the scenario needs one.
    newest_order_status: str = ""
    # Newest order's delivery date already passed while not completed.
    overdue: bool = False
    in_retailcrm: bool = True
    sites: tuple[str, ...] = ("main",)
    tags: tuple[str, ...] = field(default_factory=tuple)


PEOPLE = [
    DemoPerson("vip", "Анна", "Смирнова", "anna.smirnova@example.ru", "+7 (916) 123-45-67",
               "89161234567", orders=10, vip=True, segments=("vip", "loyal"),
               newest_order_status="delivering"),
    DemoPerson("delivery", "Иван", "Петров", "ivan.petrov@example.ru", "8 903 555 12 34",
               "+79035551234", orders=1, newest_order_status="delivering"),
    DemoPerson("problem", "Ольга", "Кузнецова", "olga.k@example.ru", "+79261112233",
               orders=2, newest_order_status="delivery-problem"),
    DemoPerson("overdue", "Дмитрий", "Соколов", "d.sokolov@example.ru", "+7 925 000-11-22",
               orders=3, newest_order_status="send-to-delivery", overdue=True),
    DemoPerson("new", "Мария", "Волкова", "maria.volkova@example.ru", "+79157778899",
               orders=0),
    DemoPerson("big", "ООО", "Оптовик", "opt@example.ru", "+74951234567", orders=1000,
               segments=("wholesale",)),
    DemoPerson("huge", "Маркетплейс", "Партнёр", "partner@example.ru", "+74959876543",
               orders=10000, segments=("wholesale",)),
    DemoPerson("phone_only", "Сергей", "Новиков", "", "+7 (999) 222-33-44", "8-999-222-33-44",
               orders=2, newest_order_status="complete"),
    DemoPerson("twin_sites", "Елена", "Морозова", "elena.m@example.ru", "+79031234000",
               orders=1, sites=("main", "outlet")),
    DemoPerson("cancelled", "Павел", "Лебедев", "p.lebedev@example.ru", "+79101010101",
               orders=2, newest_order_status="cancel-other"),
    DemoPerson("unknown", "Алексей", "Незнакомов", "stranger@example.com", "",
               "+7 900 100-20-30", in_retailcrm=False),
    # Appended last so the HDE user ids of the people above stay put.
    # Order watch in the demo: no ticket in HDE, and her newest order is on
    # its way, so a demo user can set it to "delivery problem" in the
    # RetailCRM emulator's back office and watch a proactive ticket appear.
    DemoPerson("hundred", "Ирина", "Сотникова", "irina.sotnikova@example.ru", "+79161000100",
               orders=100, newest_order_status="delivering"),
    # The chooser: Пётр writes from his work address, which RetailCRM does
    # not know, and from the phone he shares with his wife Анна (RetailCRM
    # has them as two customers, see sandbox.retailcrm.seed.PHONE_TWIN), so
    # the e-mail finds nobody and the phone finds both.
    DemoPerson("chooser", "Пётр", "Смирнов", "petr.smirnov@work.example.net",
               "+7 916 123-45-67", in_retailcrm=False),
]

PEOPLE_BY_KEY = {person.key: person for person in PEOPLE}
