"""The telemetry tables' indexes: BRIN on time on PostgreSQL, plain b-trees elsewhere."""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def test_time_indexes_match_the_database():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "monitoring_reading")
    brin = [name for name, c in constraints.items() if c.get("type") == "brin"]
    if connection.vendor == "postgresql":
        assert brin == ["mon_reading_ts_brin"]
        assert constraints["mon_reading_ts_brin"]["columns"] == ["ts"]
    else:
        assert brin == []
    assert constraints["mon_reading_series"]["columns"] == ["pile_id", "measurand", "ts", "id"]
