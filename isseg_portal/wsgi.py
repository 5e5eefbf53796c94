import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "isseg_portal.settings")

application = get_wsgi_application()

# A web process does not serve with rate-limit counters that Redis could evict.
from isseg_portal.counters import counters_startup_check  # noqa: E402

counters_startup_check()
