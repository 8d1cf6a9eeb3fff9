"""The emulator's agent-facing pages: ticket list, ticket card, new ticket.

These pages are the demo and the browser-test surface for what an operator
sees in HDE. They go through `sandbox.hde.services`, so a ticket created or
answered here fires the same dispatcher rules as one made through the API.
The sidebar frames whatever URL is in the ticket's "CRM card" custom field:
the portal writes that field; the emulator never builds portal links.

A ticket's page lives where real HDE keeps it (`/ru/ticket/list/filter/id/1/
ticket/<id>/` after the system's URL), so the browser extension recognises
both the same way.
"""

import hashlib

from django import forms
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from sandbox.hde import services as svc
from sandbox.hde.html import clean_html
from sandbox.hde.models import (
    Account,
    CustomField,
    Department,
    HdeUser,
    Message,
    Priority,
    Status,
    Ticket,
    TicketType,
)

CRM_CARD_FIELD = "CRM card"
# The list filter in the address: real HDE puts the list the agent came from
# there; links from outside (notifications, integrations) use 0 or 1.
DEFAULT_FILTER_ID = 1


def ticket_path(account_code: str, ticket_id: int) -> str:
    """The staff page of a ticket, as real HDE shapes it after the system's URL."""
    return reverse("sandbox_hde:ticket", kwargs={
        "account": account_code, "lang": "ru", "filter_id": DEFAULT_FILTER_ID,
        "ticket_id": ticket_id})


def _agent(account) -> HdeUser:
    """The staff user the pages act as (the seeded integration agent)."""
    agent = HdeUser.objects.filter(account=account, group_type=HdeUser.STAFF).first()
    if agent is None:
        raise Http404("This emulated account has no staff user; run sandbox_seed.")
    return agent


def _names(model, account, key="hid"):
    return {getattr(item, key): svc.name_of(item.name)
            for item in model.objects.filter(account=account)}


def crm_card_url(account, ticket) -> str:
    field = next((f for f in CustomField.objects.filter(account=account)
                  if f.name.get("en") == CRM_CARD_FIELD), None)
    if field is None:
        return ""
    return str((ticket.custom_fields or {}).get(str(field.hid), "") or "").strip()


def ticket_list(request, account):
    account = get_object_or_404(Account, code=account)
    tickets = (Ticket.objects.filter(account=account).select_related("user", "owner")
               .order_by("-date_created", "-hid"))
    priorities = _names(Priority, account)
    statuses = _names(Status, account, key="slug")
    rows = [{"ticket": t, "priority": priorities.get(t.priority_id, t.priority_id),
             "status": statuses.get(t.status_id, t.status_id),
             "url": ticket_path(account.code, t.hid)} for t in tickets]
    return render(request, "sandbox/hde/ticket_list.html", {"account": account, "rows": rows})


class ReplyForm(forms.Form):
    kind = forms.ChoiceField(choices=[("client", "Ответ клиента"), ("comment", "Комментарий")])
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=10000)


def ticket_moved(request, account, ticket_id):
    """The emulator's first address for a ticket page: on to the real shape
    (307 keeps a form's POST a POST)."""
    account = get_object_or_404(Account, code=account)
    get_object_or_404(Ticket, account=account, hid=ticket_id)
    response = HttpResponseRedirect(ticket_path(account.code, ticket_id))
    if request.method not in ("GET", "HEAD"):
        response.status_code = 307
    return response


def _live_version(ticket, card: str) -> tuple[str, str]:
    """What the page compares to know something changed: the ticket's update
    time and its messages (everything the portal writes moves one of them),
    and, separately, the CRM card link (the frame reloads only when it
    changes, so an operator's half-typed note in the card survives)."""
    messages = Message.objects.filter(ticket=ticket)
    last = messages.order_by("-hid").values_list("hid", flat=True).first() or 0
    changed = f"{ticket.date_updated.isoformat() if ticket.date_updated else ''}" \
              f":{messages.count()}:{last}:{ticket.status_id}:{ticket.priority_id}"
    return (hashlib.sha256(changed.encode()).hexdigest()[:16],
            hashlib.sha256(card.encode()).hexdigest()[:16])


def ticket_page(request, account, ticket_id, lang="ru", filter_id=DEFAULT_FILTER_ID):
    """The agent's ticket card. It updates itself (htmx polls `?part=live`
    every two seconds): the portal's priority, tags, fields and comment
    appear without a reload, and the sidebar frames the CRM card as soon as
    the portal writes its link — as a help desk's own page would."""
    account = get_object_or_404(Account, code=account)
    ticket_id = int(ticket_id)
    ticket = get_object_or_404(Ticket.objects.select_related("user", "owner"),
                               account=account, hid=ticket_id)
    form = ReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        is_comment = form.cleaned_data["kind"] == "comment"
        svc.add_message(account, ticket, text=form.cleaned_data["text"],
                        author=_agent(account) if is_comment else ticket.user,
                        is_comment=is_comment)
        return redirect(request.path)
    fields = []
    values = svc.custom_values_json(account, ticket.custom_fields or {})
    definitions = {f.hid: f for f in CustomField.objects.filter(account=account)}
    for item in values:
        value = item["field_value"]
        if isinstance(value, dict):
            value = svc.name_of(value.get("name", {}))
        fields.append({"name": svc.name_of(definitions[item["id"]].name),
                       "value": "" if value in (0, None) and item["field_type"] == "select"
                       else value})
    card = crm_card_url(account, ticket)
    version, card_version = _live_version(ticket, card)
    if request.GET.get("part") == "live":
        if request.GET.get("v") == version and request.GET.get("c") == card_version:
            return HttpResponse(status=204)  # nothing new: htmx keeps the page as it is
    context = {
        "account": account, "ticket": ticket, "form": form,
        "messages_list": [
            {"message": m, "html": clean_html(m.text)}
            for m in Message.objects.filter(ticket=ticket).select_related("user")
            .order_by("date_created", "hid")
        ],
        "priority": _names(Priority, account).get(ticket.priority_id, ticket.priority_id),
        "status": _names(Status, account, key="slug").get(ticket.status_id, ticket.status_id),
        "type": _names(TicketType, account).get(ticket.type_id, ticket.type_id),
        "department": _names(Department, account).get(ticket.department_id, ""),
        "fields": fields,
        "crm_card": card if card.startswith(("http://", "https://")) else "",
        "crm_card_text": card,
        "version": version, "card_version": card_version,
        "card_changed": request.GET.get("c") != card_version,
        "live": request.GET.get("part") == "live",
    }
    if request.GET.get("part") == "live":
        return render(request, "sandbox/hde/_ticket_live.html", context)
    return render(request, "sandbox/hde/ticket_page.html", context)


class NewTicketForm(forms.Form):
    customer = forms.ChoiceField(label="Клиент из базы", required=False)
    email = forms.EmailField(label="или e-mail", required=False)
    phone = forms.CharField(label="или телефон", required=False, max_length=40)
    name = forms.CharField(label="Имя (для нового контакта)", required=False, max_length=100)
    title = forms.CharField(label="Тема", max_length=500)
    description = forms.CharField(label="Сообщение", widget=forms.Textarea(attrs={"rows": 5}))

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        clients = HdeUser.objects.filter(account=account, group_type=HdeUser.CLIENT)
        self.fields["customer"].choices = [("", "— выберите —")] + [
            (str(u.hid), f"{u.full_name} <{u.email}>{' ' + u.phone if u.phone else ''}")
            for u in clients
        ]

    def clean(self):
        data = super().clean()
        if not (data.get("customer") or data.get("email") or data.get("phone")):
            raise forms.ValidationError("Выберите клиента или укажите e-mail или телефон.")
        return data


def ticket_new(request, account):
    """Create a ticket exactly like `POST /api/v2/tickets/` would."""
    account = get_object_or_404(Account, code=account)
    form = NewTicketForm(request.POST or None, account=account)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        body = {"title": data["title"], "description": data["description"], "source": "web"}
        try:
            if data["customer"]:
                body["user_id"] = data["customer"]
            else:
                body["user_id"] = svc.user_for_contact(
                    account, email=data["email"], phone=data["phone"], name=data["name"]
                ).hid
            ticket = svc.create_ticket(account, body, svc.Actor(_agent(account)))
        except svc.HdeError as error:
            form.add_error(None, error.details or error.title)
        else:
            return redirect(ticket_path(account.code, ticket.hid))
    return render(request, "sandbox/hde/ticket_new.html", {"account": account, "form": form})
