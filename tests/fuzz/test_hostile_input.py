"""Hostile and random input (hypothesis) to every filter, sort and page parameter and to the
lifecycle endpoints: never a 500, and never a write from a request that was refused.
`make test` runs a bounded number of examples; `make fuzz` many more."""

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.accounts.factories import AccountFactory
from apps.pipeline.models import Pipeline
from apps.projects.factories import ProjectFactory, stage_named
from apps.projects.models import CustomerProject

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

NASTY = st.sampled_from(
    [
        "1e-16384",
        "-1e200000",
        "1e999999",
        "NaN",
        "Infinity",
        "-0",
        "²",
        "٣",
        "\x00",
        "x" * 10_000,
        "9" * 40,
        "2020-13-45",
        "0000-00-00",
        "9999-12-31",
        "-1",
        "' OR 1=1 --",
        "<script>alert(1)</script>",
        "&|!:*()",
        "%00",
        "[]",
        "{}",
        # Sorts: empty keys, and keys the list pages by group (with a search of punctuation,
        # which can match nothing, they once gave a 500).
        ",",
        "account,,-value",
        "-owner",
        "stage,-probability",
    ]
)
VALUE = st.one_of(NASTY, st.text(max_size=40), st.integers().map(str), st.floats().map(str))
PARAMS = [
    "q", "owner", "team", "rep", "pipeline", "stage", "status", "attention", "close_after",
    "close_before", "value_min", "value_max", "o", "page", "show", "since", "since_at", "quiet",
    "period", "count", "group", "start", "end", "bar", "position", "account", "next",
]  # fmt: skip
QUERY = st.dictionaries(st.sampled_from(PARAMS), VALUE, max_size=5)


@pytest.fixture
def pages(rep, manager, team):
    project = ProjectFactory(account=AccountFactory(owner=rep), stage=stage_named("Decision"))
    pipeline = Pipeline.objects.get(kind="acquisition", is_default=True)
    return project, [
        "/",
        "/projects/",
        "/projects/export.csv",
        "/accounts/",
        "/accounts/export.csv",
        pipeline.get_absolute_url(),
        "/forecast/",
        "/forecast/export.csv",
        "/analytics/",
        "/reviews/",
        "/reviews/prepare/",
        "/reviews/prepare/bar/",
        "/search/",
        "/projects/new/accounts/",
        f"/pipeline/projects/{project.pk}/move/",
        f"/pipeline/projects/{project.pk}/win/",
    ]


def _no_server_error(response, where):
    assert response.status_code < 500, where
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)  # an export that breaks mid-file breaks here


@FUZZ
@given(query=QUERY, page=st.integers(min_value=0, max_value=15))
def test_no_parameter_gives_a_server_error(client, manager, pages, query, page):
    project, urls = pages
    client.force_login(manager)
    url = urls[page]
    _no_server_error(client.get(url, query), (url, query))


LIFECYCLE = ["move", "win", "stop", "reopen", "undo-win"]


@FUZZ
@given(
    action=st.sampled_from(LIFECYCLE + ["next-step", "notes", "edit"]),
    data=st.dictionaries(
        st.sampled_from(
            [
                "to_stage",
                "value",
                "expected_close_date",
                "ended_by",
                "reason",
                "note",
                "next",
                "next_step",
                "next_step_date",
                "text",
                "title",
                "individual_probability",
                "present_state",
                "owner",
            ]  # fmt: skip
        ),
        VALUE,
        max_size=6,
    ),
    version=NASTY,
    htmx=st.booleans(),
)
def test_a_refused_write_writes_nothing(client, manager, pages, action, data, version, htmx):
    """Every write checks the version it was shown: a garbled one is always refused, so
    nothing may change, whatever else came with it."""
    project, _ = pages
    client.force_login(manager)
    before = CustomerProject.objects.values().get(pk=project.pk)
    transitions = project.transitions.count()
    url = {
        "next-step": f"/projects/{project.pk}/next-step/",
        "notes": f"/projects/{project.pk}/notes/",
        "edit": f"/projects/{project.pk}/edit/",
    }.get(action, f"/pipeline/projects/{project.pk}/{action}/")
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    if action == "notes":
        data = {"text": data.get("text", "\x00")}  # a note has no version: refuse it by text
    response = client.post(url, {**data, "version": version}, **headers)
    _no_server_error(response, (action, data, version))
    assert CustomerProject.objects.values().get(pk=project.pk) == before, (action, data)
    assert project.transitions.count() == transitions
