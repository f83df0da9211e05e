"""Dashboard pages."""

urlpatterns: list = []
