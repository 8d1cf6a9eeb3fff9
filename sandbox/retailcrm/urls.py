"""Mounted at /sandbox/retailcrm/ (only when SANDBOX_ENABLED): an account URL
`/sandbox/retailcrm/<code>` stands for `https://<code>.retailcrm.ru`; its
API lives under `api/`, the back office pages (sandbox.retailcrm.pages) at
RetailCRM's own addresses (`customers/<id>`, `orders/<id>/edit`), so the
links the portal's widget builds from the account URL open them."""

from django.urls import path

from sandbox.retailcrm import pages, views

urlpatterns = [
    path("<slug:account>/api/<path:path>", views.api, name="sandbox-retailcrm-api"),
    path("<slug:account>/_faults", views.faults, name="sandbox-retailcrm-faults"),
    path("<slug:account>/_behaviour", views.behaviour, name="sandbox-retailcrm-behaviour"),
    path("<slug:account>/_triggers", views.triggers, name="sandbox-retailcrm-triggers"),
    path("<slug:account>/_triggers/<int:trigger_id>/fire", views.trigger_fire,
         name="sandbox-retailcrm-trigger-fire"),
    path("<slug:account>/", pages.home, name="sandbox-retailcrm-home"),
    path("<slug:account>/customers/", pages.customer_list, name="sandbox-retailcrm-customers"),
    path("<slug:account>/customers/<int:customer_id>", pages.customer_page,
         name="sandbox-retailcrm-customer"),
    path("<slug:account>/customers/<int:customer_id>/", pages.customer_page),
    path("<slug:account>/customers/<int:customer_id>/order-status", pages.customer_order_status,
         name="sandbox-retailcrm-customer-order-status"),
    path("<slug:account>/orders/", pages.order_list, name="sandbox-retailcrm-orders"),
    path("<slug:account>/orders/<int:order_id>/edit", pages.order_page,
         name="sandbox-retailcrm-order"),
    path("<slug:account>/orders/<int:order_id>", pages.order_page),
    path("<slug:account>/orders/<int:order_id>/", pages.order_page),
    path("<slug:account>/orders/<int:order_id>/status", pages.order_status,
         name="sandbox-retailcrm-order-status"),
]
