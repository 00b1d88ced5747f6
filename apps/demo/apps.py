from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data for local use (`manage.py seed_demo`). It depends on every other app and
    nothing depends on it, which is why it is an app of its own."""

    name = "apps.demo"
    label = "demo"
