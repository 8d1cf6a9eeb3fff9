from django.urls import path

from integration import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
]
