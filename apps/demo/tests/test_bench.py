import pytest
from django.core.management import CommandError, call_command


@pytest.mark.django_db
def test_one_request_a_page_is_refused_before_anything_is_filled():
    with pytest.raises(CommandError, match="95th percentile needs two runs"):
        call_command("bench", repeat=1)
