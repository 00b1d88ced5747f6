"""WSGI entry point: `gunicorn pipeline_crm.wsgi`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipeline_crm.settings")

application = get_wsgi_application()
