"""Hostile and random input (hypothesis) to every filter, sort and page parameter and to the
lifecycle endpoints: never a 500, and never a write from a request that was refused.
`make test` runs a bounded number of examples; `make fuzz` many more."""

import os
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.forms import DateField
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.accounts.factories import AccountFactory
from apps.accounts.models import Account, Contact
from apps.forecasting.forms import AnalyticsForm, ForecastForm, TargetForm
from apps.pipeline.factories import ProjectFactory, stage_named
from apps.pipeline.filters import ProjectFilter
from apps.pipeline.forms import (
    MoveForm,
    ProjectCreateForm,
    ProjectEditForm,
    WinForm,
    entry_field,
)
from apps.pipeline.models import Pipeline
from apps.projects.forms import NextStepForm
from apps.projects.models import CustomerProject
from apps.reviews.forms import ActionForm, PrepareForm
from apps.reviews.models import ReviewMeeting
from pipeline_crm.bounds import BoundedTextField, TypedDateField

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


# Free text and days without bounds (issue 21): each free text has a limit no person reaches,
# said in the error; each typed day is one from 1 January 2000 to ten years after today.

HUGE = "x" * 2_000_000
TOO_LONG = "Keep this to 20,000 characters (it has 2,000,000)."


def _form_errors(response) -> list[str]:
    return [str(error) for errors in response.context["form"].errors.values() for error in errors]


def test_account_notes_past_the_limit_are_refused_in_words(client, rep):
    account = AccountFactory(owner=rep, notes="Kept")
    client.force_login(rep)
    data = {"name": account.name, "relationship_level": 1, "notes": HUGE}
    response = client.post(f"/accounts/{account.pk}/edit/", data | {"version": 1})
    assert TOO_LONG in _form_errors(response)
    response = client.post("/accounts/new/", data | {"name": "Another"})
    assert TOO_LONG in _form_errors(response)
    account.refresh_from_db()
    assert account.notes == "Kept"
    assert Account.objects.count() == 1


def test_contact_notes_past_the_limit_are_refused_in_words(client, rep):
    account = AccountFactory(owner=rep)
    client.force_login(rep)
    response = client.post(f"/accounts/{account.pk}/contacts/new/", {"name": "Ann", "notes": HUGE})
    assert TOO_LONG in _form_errors(response)
    assert not Contact.objects.exists()


@pytest.mark.parametrize("field", ["present_state", "desired_state", "buying_process"])
def test_a_projects_qualification_past_the_limit_is_refused_in_words(client, rep, field):
    project = ProjectFactory(account=AccountFactory(owner=rep))
    client.force_login(rep)
    data = {
        "title": project.title,
        "value": "100",
        "version": project.version,
        "present_state": "Now",
        "desired_state": "Then",
        "buying_process": "CFO",
    }
    response = client.post(f"/projects/{project.pk}/edit/", data | {field: HUGE})
    assert _form_errors(response) == [TOO_LONG]
    # 20,000 is kept.
    response = client.post(f"/projects/{project.pk}/edit/", data | {field: "y" * 20_000})
    assert response.status_code == 302
    project.refresh_from_db()
    assert len(getattr(project, field)) == 20_000


def test_meeting_notes_past_the_limit_are_refused_in_words(client, manager, team):
    meeting = ReviewMeeting.objects.create(
        manager=manager, team=team, since=timezone.now() - timedelta(days=14)
    )
    client.force_login(manager)
    response = client.post(
        f"/reviews/{meeting.pk}/notes/", {"notes": HUGE, "version": 1}, HTTP_HX_REQUEST="true"
    )
    assert TOO_LONG in response.content.decode()
    meeting.refresh_from_db()
    assert meeting.notes == ""


def test_every_free_text_of_the_models_is_bounded_and_checked_by_the_database():
    """A TextField of our apps is a BoundedTextField with a database check of the same limit,
    named `<app>_<model>_<field>_length` (the prefix as the model's other constraints)."""
    unbounded, unchecked = [], []
    for model in apps.get_models():
        if not model.__module__.startswith("apps.") or model.__name__.startswith("Historical"):
            continue
        checks = {
            constraint.name: constraint
            for constraint in model._meta.constraints
            if constraint.name.endswith("_length")
        }
        for field in model._meta.get_fields():
            if isinstance(field, models.TextField):
                if not isinstance(field, BoundedTextField):
                    unbounded.append(f"{model.__name__}.{field.name}")
                    continue
                named = [name for name in checks if name.endswith(f"_{field.name}_length")]
                limit = named and checks[named[0]].condition.rhs
                if limit != field.max_length:
                    unchecked.append(f"{model.__name__}.{field.name}")
            elif isinstance(field, models.CharField) and not field.max_length:
                unbounded.append(f"{model.__name__}.{field.name}")
    assert (unbounded, unchecked) == ([], [])


@pytest.mark.parametrize(
    ("model", "field", "limit"),
    [(Account, "notes", 20_000), (CustomerProject, "present_state", 20_000)],
)
def test_the_database_refuses_text_past_the_limit(rep, model, field, limit):
    project = ProjectFactory(account=AccountFactory(owner=rep))
    row = project if model is CustomerProject else project.account
    with pytest.raises(IntegrityError, match=f"{field}_length"), transaction.atomic():
        model.objects.filter(pk=row.pk).update(**{field: "x" * (limit + 1)})


def test_text_past_the_limit_is_refused_by_the_model_too(rep):
    account = AccountFactory(owner=rep)
    account.notes = HUGE
    with pytest.raises(ValidationError) as refused:
        account.full_clean()
    assert refused.value.message_dict["notes"] == [TOO_LONG]


def _date_fields(form) -> dict:
    return {name: field for name, field in form.base_fields.items() if isinstance(field, DateField)}


def test_every_typed_day_follows_the_one_rule():
    """Each form and filter where a day is typed uses TypedDateField (pipeline_crm/bounds.py)."""
    forms = [
        ProjectCreateForm,
        ProjectEditForm,
        NextStepForm,
        WinForm,
        MoveForm,
        ActionForm,
        PrepareForm,
        ForecastForm,
        TargetForm,
        AnalyticsForm,
    ]
    typed = {form.__name__: _date_fields(form) for form in forms}
    typed["entry_field"] = {"expected_close_date": entry_field("expected_close_date")}
    assert all(typed[name] for name in ["ProjectEditForm", "NextStepForm", "TargetForm"])
    untyped = [
        f"{form}.{name}"
        for form, fields in typed.items()
        for name, field in fields.items()
        if not isinstance(field, TypedDateField)
    ]
    filtered = {
        name: found.field_class
        for name, found in ProjectFilter.base_filters.items()
        if issubclass(found.field_class, DateField)
    }
    assert set(filtered) == {"close_after", "close_before"}
    untyped += [name for name, kind in filtered.items() if not issubclass(kind, TypedDateField)]
    assert untyped == []


@pytest.mark.parametrize(
    ("day", "message"),
    [
        ("0001-01-01", "That is before 2000: choose a date from 1 January 2000 on."),
        ("1999-12-31", "That is before 2000: choose a date from 1 January 2000 on."),
        ("9999-12-31", "That is more than 10 years away: choose a date within 10 years."),
    ],
)
def test_days_outside_the_years_a_person_means_are_refused_in_words(client, rep, day, message):
    project = ProjectFactory(account=AccountFactory(owner=rep))
    client.force_login(rep)
    data = {"title": project.title, "value": "100", "version": project.version}
    for field in ("next_step_date", "expected_close_date"):
        response = client.post(
            f"/projects/{project.pk}/edit/",
            data | {"next_step": "Call", field: day, "confirm_close_date": day},
        )
        assert response.context["form"].errors[field] == [message]
    response = client.get("/projects/", {"close_after": day, "close_before": day})
    assert response.status_code == 200
    assert message in response.content.decode()
    project.refresh_from_db()
    assert (project.next_step_date, project.version) == (None, 1)
