"""The Makefile's passes run with `-n 2 --dist loadgroup`: tests that share one costly seeding
carry an `xdist_group` mark so that they run in one process and the seeding happens once."""

import pytest


@pytest.mark.xdist_group("grouping_probe")
def test_a_grouped_test_is_scheduled_by_its_group(request):
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("Only under pytest-xdist's --dist loadgroup.")
    # pytest-xdist schedules by the group it appends to the node id; a pytest whose node ids
    # it cannot tag (9.2 with xdist 3.8) silently spreads the group over every process.
    assert request.node.nodeid.endswith("@grouping_probe")
