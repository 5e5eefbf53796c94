"""Settings of the web benchmarks (bench/throughput.py, bench/queries.py): the portal's own,
plus bench-only URLs (bench/urls.py). Never used outside bench/.

The environment is the benchmark's: DEBUG off, a scratch database, STAFF_REQUIRE_MFA=0 (the
staff's sessions are made without a second factor), no HTTPS redirect (gunicorn on plain HTTP).
"""

from isseg_portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
