from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from integration.widget import api as widget

urlpatterns = [
    path("context", widget.ContextApi.as_view(), name="api-context"),
    path("notes", widget.NoteCreateApi.as_view(), name="api-notes"),
    path("tasks", widget.TaskCreateApi.as_view(), name="api-tasks"),
    path("customers", widget.CustomerCreateApi.as_view(), name="api-customers"),
    path("schema/", SpectacularAPIView.as_view(permission_classes=[], authentication_classes=[]),
         name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema", permission_classes=[],
                                                authentication_classes=[]), name="api-docs"),
]
