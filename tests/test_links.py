"""object_url gives the URL reverse() gives, for any id and under a script prefix."""

import pytest
from django.template import engines
from django.urls import clear_script_prefix, reverse, set_script_prefix

from pipeline_crm.links import object_url


@pytest.mark.parametrize("name", ["pipeline:move", "pipeline:win", "projects:detail"])
@pytest.mark.parametrize("pk", [1, 42, 987654321])
def test_object_url_is_what_reverse_gives(name, pk):
    assert object_url(name, pk) == reverse(name, args=[pk])


def test_object_url_keeps_the_script_prefix_of_the_request():
    set_script_prefix("/crm/")
    try:
        assert (
            object_url("projects:detail", 7)
            == "/crm/projects/7/"
            == reverse("projects:detail", args=[7])
        )
    finally:
        clear_script_prefix()
    assert object_url("projects:detail", 7) == "/projects/7/"


def test_object_url_takes_only_an_integer_id():
    with pytest.raises(ValueError):
        object_url("projects:detail", "7/../../admin")


def test_object_url_is_a_template_builtin():
    template = engines["django"].from_string("{% object_url 'pipeline:stop' pk %}")
    assert template.render({"pk": 5}) == "/pipeline/projects/5/stop/"
