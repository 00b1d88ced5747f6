"""The project form people like (issue 10, item 6): grouped, required fields marked, the
account chosen by typing (or created there), a manager's own name as the default owner, a
past close date asked about once, and every message in our words."""

import re
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.factories import AccountFactory
from apps.accounts.models import Account, RelationshipLevel
from apps.pipeline.factories import ProjectFactory
from apps.pipeline.models import Pipeline, StageTransition
from apps.projects.models import CustomerProject

TODAY = "2026-03-11"
frozen = time_machine.travel(f"{TODAY} 12:00 +00:00", tick=False)

# What Django says when a form does not say it itself: none of it may reach this form.
DJANGO_DEFAULTS = [
    "This field is required",
    "Enter a number",
    "Enter a whole number",
    "Enter a valid date",
    "Ensure this value",
    "Ensure that there are no more than",
    "Select a valid choice",
    "Null characters are not allowed",
]
PAST_WARNING = "This date has passed. Save again to keep it, or choose a later one."
AHEAD = "That is more than 10 years away: choose a date within 10 years."
BACK = "That is before 2000: choose a date from 1 January 2000 on."
INCOMPLETE = "The page was incomplete: reload it and try again."


def _post_new(client, follow=False, **data):
    return client.post("/projects/new/", {"title": "Deal", "value": "100"} | data, follow=follow)


def _nothing_written():
    return not CustomerProject.objects.exists() and not StageTransition.objects.exists()


# Grouping and marks


@pytest.mark.parametrize("page", ["new", "edit"])
def test_the_form_groups_its_fields_under_three_legends(client, rep, page):
    project = ProjectFactory(account=AccountFactory(owner=rep))
    client.force_login(rep)
    url = "/projects/new/" if page == "new" else f"/projects/{project.pk}/edit/"
    content = client.get(url).content.decode()
    legends = re.findall(r"<legend>([^<]+)</legend>", content)
    assert legends == ["The deal", "Qualification", "Next step"]
    starts = [content.index(f"<legend>{legend}</legend>") for legend in legends]
    groups = {
        0: ["title", "value", "expected_close_date", "individual_probability"],
        1: ["present_state", "desired_state", "buying_process"],
        2: ["next_step", "next_step_date"],
    }
    if page == "new":
        groups[0] += ["account_name", "pipeline"]
    for group, names in groups.items():
        end = starts[group + 1] if group < 2 else len(content)
        for name in names:
            assert starts[group] < content.index(f'name="{name}"') < end, (name, group)
    assert ('name="account_name"' in content) is (page == "new")


def test_title_and_account_are_marked_required_and_optional_fields_are_not(client, rep):
    client.force_login(rep)
    content = client.get("/projects/new/").content.decode()
    mark = '<span class="required-mark" aria-hidden="true">required</span>'
    for name, label in [("account_name", "Account"), ("title", "Title")]:
        assert f'<label for="id_{name}">{label} {mark}</label>' in content
        field = re.search(rf"<input[^>]*name=\"{name}\"[^>]*>", content).group()
        assert " required" in field
    assert re.search(r'<input[^>]*name="account_name"[^>]*aria-required="true"', content)
    for label in ["Next step", "Your %", "Expected close date"]:
        assert f">{label}</label>" in content
    # What the first stage of a pipeline requires keeps its own mark (an earlier change).
    assert "Present state (required for Qualification on Customer development)" in content


# The account search


@pytest.fixture
def accounts(rep, other_rep):
    return {
        "acme": AccountFactory(owner=rep, name="Acme Robotics"),
        "kobmand": AccountFactory(owner=rep, name="Købmand Fjeldsø"),
        "foreign": AccountFactory(owner=other_rep, name="Acme Foreign"),
    }


def _options(response):
    return re.findall(r'role="option"[^>]*data-account-name="([^"]*)"', response.content.decode())


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("rob", ["Acme Robotics"]),
        ("ACME", ["Acme Robotics"]),
        ("kob fje", ["Købmand Fjeldsø"]),
        ("KØBMAND", ["Købmand Fjeldsø"]),
        ("cme", []),
    ],
)
def test_account_search_finds_by_word_start_accents_and_case_aside(
    client, rep, accounts, typed, found
):
    client.force_login(rep)
    response = client.get("/projects/new/accounts/", {"q": typed}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert [name for name in _options(response) if name != typed] == found


def test_account_search_never_offers_another_reps_account(client, rep, accounts):
    client.force_login(rep)
    response = client.get("/projects/new/accounts/", {"q": "acme"})
    assert _options(response) == ["Acme Robotics", "acme"]  # and the offer to create "acme"
    assert "Foreign" not in response.content.decode()
    # Its exact name is not offered for a new account either: that would be refused.
    response = client.get("/projects/new/accounts/", {"q": "acme foreign"})
    content = response.content.decode()
    assert _options(response) == [] and "not one you can see" in content


def test_account_search_offers_a_new_account_only_for_a_name_no_account_has(client, rep, accounts):
    client.force_login(rep)
    content = client.get("/projects/new/accounts/", {"q": "Borealis  Freight "}).content.decode()
    assert "Create account “Borealis Freight”" in content
    content = client.get("/projects/new/accounts/", {"q": "acme robotics"}).content.decode()
    assert "Create account" not in content and "Acme Robotics" in content


@pytest.mark.parametrize(
    "typed", ["&|!:*", "a" * 10_000, "\x00", "acme\x00", "'; drop table x; --", "((", "  ", ""]
)
def test_account_search_answers_hostile_input(client, rep, accounts, typed):
    client.force_login(rep)
    response = client.get("/projects/new/accounts/", {"q": typed}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Foreign" not in response.content.decode()


def test_account_search_lists_ten_in_the_same_queries_with_few_or_many(client, rep):
    client.force_login(rep)
    for number in range(2):
        AccountFactory(owner=rep, name=f"Nordic {number:02d}")
    client.get("/projects/new/accounts/", {"q": "nordic"})  # the session, once
    with CaptureQueriesContext(connection) as few:
        client.get("/projects/new/accounts/", {"q": "nordic"})
    for number in range(2, 30):
        AccountFactory(owner=rep, name=f"Nordic {number:02d}")
    with CaptureQueriesContext(connection) as many:
        response = client.get("/projects/new/accounts/", {"q": "nordic"})
    assert len(many) == len(few)
    assert len(_options(response)) == 11  # ten accounts and the offer to create "nordic"
    assert "More accounts match" in response.content.decode()


# Choosing and creating the account


def test_an_account_picked_from_the_list_is_posted_by_its_id(client, rep, accounts):
    client.force_login(rep)
    response = _post_new(client, account=accounts["acme"].pk, account_name="Acme Robotics")
    project = CustomerProject.objects.get()
    assert response.status_code == 302 and project.account == accounts["acme"]


def test_without_javascript_the_typed_name_finds_the_account_case_aside(client, rep, accounts):
    client.force_login(rep)
    response = _post_new(client, account_name="  acme ROBOTICS ")
    assert response.status_code == 302
    assert CustomerProject.objects.get().account == accounts["acme"]


def test_a_name_changed_after_picking_decides(client, rep, accounts):
    client.force_login(rep)
    _post_new(client, account=accounts["acme"].pk, account_name="Købmand Fjeldsø")
    assert CustomerProject.objects.get().account == accounts["kobmand"]


def test_a_name_no_visible_account_has_says_so_and_writes_nothing(client, rep, accounts):
    client.force_login(rep)
    response = _post_new(client, account_name="Acme")
    errors = response.context["form"].errors["account_name"]
    assert errors == [
        "No account you can see is named “Acme”. Choose one from the list, or tick "
        "“New account” to create it."
    ]
    assert _nothing_written() and Account.objects.count() == 3


def test_a_new_account_is_created_with_the_project(client, rep):
    client.force_login(rep)
    response = _post_new(client, account_name="Borealis Freight", new_account="on")
    project = CustomerProject.objects.get()
    assert response.status_code == 302 and response.url == f"/projects/{project.pk}/"
    account = Account.objects.get()
    assert (account.name, account.owner, account.relationship_level) == (
        "Borealis Freight",
        rep,
        RelationshipLevel.SUSPECT,
    )
    assert project.account == account and project.pipeline.kind == "acquisition"
    assert account.history.get().history_user == rep


def test_a_managers_new_account_goes_to_the_owner_chosen(client, manager, rep, team):
    client.force_login(manager)
    _post_new(client, account_name="Borealis Freight", new_account="on", owner=rep.pk)
    assert Account.objects.get().owner == rep
    assert CustomerProject.objects.get().owner == rep


def test_a_new_account_with_an_existing_name_chooses_that_account_and_says_so(
    client, rep, accounts
):
    client.force_login(rep)
    response = _post_new(client, account_name="ACME robotics", new_account="on", follow=True)
    assert CustomerProject.objects.get().account == accounts["acme"]
    assert Account.objects.count() == 3
    assert "An account named “Acme Robotics” already exists, so the project is on it." in (
        response.content.decode()
    )


def test_a_new_account_named_like_one_the_user_cannot_see_is_refused_in_words(
    client, rep, accounts
):
    client.force_login(rep)
    response = _post_new(client, account_name="acme foreign", new_account="on")
    assert (
        "already exists, but it is not one you can see"
        in (response.context["form"].errors["account_name"][0])
    )
    assert _nothing_written() and Account.objects.count() == 3


@pytest.mark.parametrize("value", ["-1", "1e-16384", "1e999999", "NaN"])
def test_a_refused_project_leaves_no_new_account_behind(client, rep, value):
    client.force_login(rep)
    response = _post_new(client, account_name="Borealis", new_account="on", value=value)
    assert response.status_code == 200 and "value" in response.context["form"].errors
    assert _nothing_written() and not Account.objects.exists()


def test_a_project_the_service_refuses_takes_its_new_account_back(client, rep):
    empty = Pipeline.objects.create(name="Partners", kind="acquisition")
    client.force_login(rep)
    response = _post_new(client, account_name="Borealis", new_account="on", pipeline=empty.pk)
    assert "Partners has no stages yet" in response.content.decode()
    assert _nothing_written() and not Account.objects.exists()


def test_a_new_account_on_a_pipeline_needing_qualification_says_what_is_missing(client, rep):
    development = Pipeline.objects.get(kind="development", is_default=True)
    client.force_login(rep)
    response = _post_new(client, account_name="Borealis", new_account="on", pipeline=development.pk)
    assert "starts in Qualification: fill this in." in response.content.decode()
    assert _nothing_written() and not Account.objects.exists()


@pytest.mark.parametrize("who", ["rep", "manager"])
def test_another_teams_account_cannot_be_passed_by_a_forged_post(
    client, request, rep, team, accounts, who
):
    client.force_login(request.getfixturevalue(who))
    response = _post_new(client, account=accounts["foreign"].pk, account_name="Acme Foreign")
    assert response.context["form"].errors["account_name"] == [
        "That account is not one you can see, so no project can be opened on it: choose one "
        "from the list."
    ]
    assert _nothing_written()


@pytest.mark.parametrize("forged", ["abc", "-1", "99999999999999999999999", "1\x00", "1e3"])
def test_a_garbled_account_id_is_refused_in_words(client, rep, accounts, forged):
    client.force_login(rep)
    response = _post_new(client, account=forged, account_name="Acme Robotics")
    assert "not one you can see" in response.context["form"].errors["account_name"][0]
    assert _nothing_written()


def test_the_account_in_the_link_is_chosen(client, rep, accounts):
    client.force_login(rep)
    content = client.get(f"/projects/new/?account={accounts['acme'].pk}").content.decode()
    assert f'name="account" value="{accounts["acme"].pk}"' in content
    assert re.search(r'name="account_name" value="Acme Robotics"', content)


@pytest.mark.parametrize("key", ["foreign", "garbage", "huge", "nul"])
def test_an_account_in_the_link_the_user_cannot_see_is_refused_in_words(client, rep, accounts, key):
    forged = {"garbage": "x';", "huge": "9" * 40, "nul": "%00"}.get(key)
    pk = accounts["foreign"].pk if key == "foreign" else forged
    client.force_login(rep)
    response = client.get(f"/projects/new/?account={pk}")
    content = response.content.decode()
    assert response.status_code == 200
    assert "The account in the link is not one you can see, so none is chosen" in content
    assert "Acme Foreign" not in content


# The owner


def test_a_managers_new_project_starts_with_themself_as_owner(client, manager, team):
    client.force_login(manager)
    content = client.get("/projects/new/").content.decode()
    assert re.search(rf'<option value="{manager.pk}" selected>', content)


def test_a_rep_has_no_owner_field(client, rep):
    client.force_login(rep)
    assert 'name="owner"' not in client.get("/projects/new/").content.decode()


# The close date


@frozen
def test_a_past_close_date_is_asked_about_once_then_kept(client, rep, accounts):
    client.force_login(rep)
    data = {"account": accounts["acme"].pk, "expected_close_date": "2026-03-10"}
    response = _post_new(client, **data)
    content = response.content.decode()
    assert response.status_code == 200 and _nothing_written()
    assert f'<small class="field-warning" id="id_expected_close_date_error">{PAST_WARNING}' in (
        content.replace("&#x27;", "'")
    )
    assert 'name="confirm_close_date" value="2026-03-10"' in content
    response = _post_new(client, **data, confirm_close_date="2026-03-10")
    assert response.status_code == 302
    assert str(CustomerProject.objects.get().expected_close_date) == "2026-03-10"


@frozen
def test_a_confirmation_of_another_date_does_not_keep_a_new_past_date(client, rep, accounts):
    client.force_login(rep)
    response = _post_new(
        client,
        account=accounts["acme"].pk,
        expected_close_date="2026-01-01",
        confirm_close_date="2026-03-10",
    )
    assert PAST_WARNING in response.content.decode() and _nothing_written()


@frozen
def test_today_needs_no_confirmation(client, rep, accounts):
    client.force_login(rep)
    response = _post_new(client, account=accounts["acme"].pk, expected_close_date=TODAY)
    assert response.status_code == 302


@frozen
def test_editing_to_a_past_close_date_is_asked_about_once(client, rep):
    project = ProjectFactory(account=AccountFactory(owner=rep), title="Deal")
    client.force_login(rep)
    data = {"title": "Deal", "value": "100", "version": 1, "expected_close_date": "2025-12-01"}
    response = client.post(f"/projects/{project.pk}/edit/", data)
    assert PAST_WARNING in response.content.decode()
    project.refresh_from_db()
    assert (project.expected_close_date, project.version) == (None, 1)
    response = client.post(
        f"/projects/{project.pk}/edit/", data | {"confirm_close_date": "2025-12-01"}
    )
    assert response.status_code == 302
    project.refresh_from_db()
    assert str(project.expected_close_date) == "2025-12-01"
    # Kept once, it is not asked about again when something else changes.
    response = client.post(f"/projects/{project.pk}/edit/", data | {"version": 2, "value": "5"})
    assert response.status_code == 302


@frozen
@pytest.mark.parametrize(
    ("day", "message"),
    [
        ("2036-03-12", AHEAD),
        ("9999-12-31", AHEAD),
        ("1999-12-31", BACK),
        ("0001-01-01", BACK),
    ],
)
def test_a_close_date_before_2000_or_more_than_ten_years_away_is_refused(
    client, rep, accounts, day, message
):
    client.force_login(rep)
    response = _post_new(
        client, account=accounts["acme"].pk, expected_close_date=day, confirm_close_date=day
    )
    assert response.context["form"].errors["expected_close_date"] == [message]
    assert _nothing_written()


@frozen
@pytest.mark.parametrize("day", ["2036-03-11", "2000-01-01"])
def test_ten_years_to_the_day_and_back_to_2000_are_allowed(client, rep, accounts, day):
    client.force_login(rep)
    response = _post_new(
        client, account=accounts["acme"].pk, expected_close_date=day, confirm_close_date=day
    )
    assert response.status_code == 302


# Our own words


BAD_INPUT = [
    {"title": ""},
    {"title": "   "},
    {"title": "x" * 201},
    {"title": "a\x00b"},
    {"account_name": ""},
    {"account_name": "n" * 201},
    {"account_name": "a\x00b"},
    {"value": ""},
    {"value": "lots"},
    {"value": "-1"},
    {"value": "1e-16384"},
    {"value": "1e999999"},
    {"value": "Infinity"},
    {"value": "12.345"},
    {"value": "1" * 15},
    {"individual_probability": "101"},
    {"individual_probability": "-1"},
    {"individual_probability": "1.5"},
    {"individual_probability": "99999999"},
    {"individual_probability": "many"},
    {"expected_close_date": "31/31/2026"},
    {"expected_close_date": "2026-02-30"},
    {"expected_close_date": "99999-01-01"},
    {"next_step_date": "tomorrow"},
    {"next_step": "s" * 201},
    {"present_state": "a\x00b"},
    {"pipeline": "999999"},
    {"pipeline": "x"},
    {"owner": "999999"},
    {"owner": "x"},
    {"account": "x"},
]


@pytest.mark.parametrize("bad", BAD_INPUT, ids=lambda bad: repr(bad)[:40])
def test_every_refusal_is_in_our_words(client, manager, team, accounts, bad):
    client.force_login(manager)
    data = {"account_name": "Acme Robotics", "owner": manager.pk} | bad
    response = _post_new(client, **data)
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors
    messages = " ".join(str(error) for errors in form.errors.values() for error in errors)
    content = response.content.decode()
    for default in DJANGO_DEFAULTS:
        assert default not in messages and default not in content, default
    assert _nothing_written()


@pytest.mark.parametrize("version", [None, "", "x", "1.5", "\x00"])
def test_a_missing_or_garbled_version_on_edit_is_said_and_writes_nothing(client, rep, version):
    project = ProjectFactory(account=AccountFactory(owner=rep), title="Deal")
    client.force_login(rep)
    data = {"title": "Changed", "value": "5"}
    if version is not None:
        data["version"] = version
    response = client.post(f"/projects/{project.pk}/edit/", data)
    assert response.status_code == 200
    content = response.content.decode()
    assert f'<div class="form-error" role="alert"><p>{INCOMPLETE}</p></div>' in content
    for default in DJANGO_DEFAULTS:
        assert default not in content
    project.refresh_from_db()
    assert (project.title, project.value, project.version) == ("Deal", Decimal("10000.00"), 1)
