import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.contrib import admin as django_admin
from simple_history.admin import SimpleHistoryAdmin

from apps.accounts import services
from apps.accounts.factories import AccountFactory, ContactFactory, csv_rows
from apps.accounts.models import Account, Contact, RelationshipLevel
from apps.users.factories import VISIBLE, RepFactory
from pipeline_crm import listing
from pipeline_crm.admin import ReadOnlyHistoryAdmin
from pipeline_crm.listing import _cell


@pytest.fixture
def accounts(rep, teammate, other_rep, team, other_team):
    """One account per rep: the rep's own, a teammate's, and another team's."""
    return {
        "own": AccountFactory(name="Own Industries", owner=rep),
        "teammate": AccountFactory(name="Teammate Traders", owner=teammate),
        "other": AccountFactory(name="Other Team Oil", owner=other_rep),
    }


def _names(response):
    return {account.name for account in response.context["page"].object_list}


def _csv_names(response):
    return {row["name"] for row in csv_rows(response)}


# Visibility, by role: list, detail, edit, export, and by guessing URLs.


@pytest.mark.parametrize("who", VISIBLE)
def test_each_role_lists_and_exports_only_what_it_may_see(client, request, accounts, who):
    client.force_login(request.getfixturevalue(who))
    expected = {accounts[key].name for key in VISIBLE[who]}
    assert _names(client.get("/accounts/")) == expected
    assert _csv_names(client.get("/accounts/export.csv")) == expected


@pytest.mark.parametrize("who", VISIBLE)
@pytest.mark.parametrize("subpage", ["", "edit/", "delete/", "contacts/new/"])
def test_pages_of_invisible_accounts_are_404(client, request, accounts, who, subpage):
    client.force_login(request.getfixturevalue(who))
    for key, account in accounts.items():
        status = client.get(f"/accounts/{account.pk}/{subpage}").status_code
        assert status == (200 if key in VISIBLE[who] else 404), (key, status)


def test_rep_cannot_change_another_reps_account_by_post(client, rep, accounts):
    client.force_login(rep)
    other = accounts["teammate"]
    contact = ContactFactory(account=other, name="Kept")
    for url, data in [
        (f"/accounts/{other.pk}/edit/", {"name": "Hijacked", "relationship_level": 7}),
        (f"/accounts/{other.pk}/delete/", {}),
        (f"/accounts/{other.pk}/contacts/new/", {"name": "Intruder"}),
        (f"/accounts/{other.pk}/contacts/{contact.pk}/edit/", {"name": "Changed"}),
        (f"/accounts/{other.pk}/contacts/{contact.pk}/delete/", {}),
    ]:
        assert client.post(url, data).status_code == 404, url
    other.refresh_from_db()
    assert other.name == "Teammate Traders"
    assert list(other.contacts.values_list("name", flat=True)) == ["Kept"]


def test_contact_of_another_account_is_404_under_my_account(client, rep, accounts):
    client.force_login(rep)
    foreign_contact = ContactFactory(account=accounts["other"])
    url = f"/accounts/{accounts['own'].pk}/contacts/{foreign_contact.pk}/edit/"
    assert client.get(url).status_code == 404


def test_manager_can_edit_team_members_account_and_hand_it_over(
    client, manager, teammate, rep, accounts
):
    client.force_login(manager)
    account = accounts["own"]
    response = client.post(
        f"/accounts/{account.pk}/edit/",
        {
            "name": account.name,
            "relationship_level": 2,
            "owner": teammate.pk,
            "industry": "",
            "version": 1,
        },
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.owner, account.relationship_level) == (teammate, 2)


def test_manager_cannot_hand_an_account_to_someone_outside_their_teams(
    client, manager, other_rep, accounts
):
    client.force_login(manager)
    account = accounts["own"]
    response = client.post(
        f"/accounts/{account.pk}/edit/",
        {"name": account.name, "relationship_level": 1, "owner": other_rep.pk, "version": 1},
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.context["form"].errors["owner"][0]
    account.refresh_from_db()
    assert account.owner.username == "rep"


def test_rep_owns_what_they_create_and_cannot_pick_another_owner(client, rep, teammate, team):
    client.force_login(rep)
    response = client.post(
        "/accounts/new/",
        {"name": "New Co", "relationship_level": 1, "owner": teammate.pk, "industry": "retail"},
    )
    account = Account.objects.get(name="New Co")
    assert response.status_code == 302 and response.url == f"/accounts/{account.pk}/"
    assert account.owner == rep


def test_write_views_refuse_wrong_methods(client, rep, accounts):
    client.force_login(rep)
    account = accounts["own"]
    contact = ContactFactory(account=account)
    assert client.post("/accounts/").status_code == 405
    assert client.post("/accounts/export.csv").status_code == 405
    assert client.post(f"/accounts/{account.pk}/").status_code == 405
    assert client.get(f"/accounts/{account.pk}/contacts/{contact.pk}/delete/").status_code == 405


# Validation: a clear form error and nothing written.


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "acme ROBOTICS"}, "name", "An account with this name already exists"),
        ({"name": "  "}, "name", "This field is required."),
        ({"name": ""}, "name", "This field is required."),
        ({"name": "Fine", "website": "not a url"}, "website", "Enter a valid URL."),
        ({"name": "Fine", "website": "javascript:alert(1)"}, "website", "Enter a valid URL."),
        ({"name": "Fine", "relationship_level": 8}, "relationship_level", "Select a valid choice"),
    ],
)
def test_bad_account_input_shows_an_error_and_writes_nothing(client, rep, data, field, message):
    existing = AccountFactory(name="Acme Robotics", owner=rep)
    client.force_login(rep)
    response = client.post("/accounts/new/", {"relationship_level": 1} | data)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert list(Account.objects.all()) == [existing]


def test_duplicate_name_links_to_the_existing_visible_account(client, rep):
    existing = AccountFactory(name="Acme Robotics", owner=rep)
    client.force_login(rep)
    response = client.post("/accounts/new/", {"name": "ACME Robotics", "relationship_level": 1})
    assert f'<a href="/accounts/{existing.pk}/">Acme Robotics</a>' in response.content.decode()


def test_duplicate_name_of_an_invisible_account_says_only_that_the_name_is_taken(
    client, rep, other_rep
):
    existing = AccountFactory(name="Acme Robotics", owner=other_rep)
    client.force_login(rep)
    response = client.post("/accounts/new/", {"name": "acme robotics", "relationship_level": 1})
    content = response.content.decode()
    assert "An account with this name already exists" in content
    assert "Olga" not in content and "managed by" not in content
    assert f"/accounts/{existing.pk}/" not in content
    assert not Account.objects.filter(owner=rep).exists()


def test_renaming_to_own_name_in_another_case_is_allowed(client, rep):
    account = AccountFactory(name="Acme Robotics", owner=rep)
    client.force_login(rep)
    response = client.post(
        f"/accounts/{account.pk}/edit/",
        {"name": "ACME Robotics", "relationship_level": 1, "version": 1},
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.name == "ACME Robotics"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "Ann", "email": "ann@"}, "email", "Enter a valid email address."),
        ({"name": ""}, "name", "This field is required."),
    ],
)
def test_bad_contact_input_shows_an_error_and_writes_nothing(client, rep, data, field, message):
    account = AccountFactory(owner=rep)
    client.force_login(rep)
    response = client.post(f"/accounts/{account.pk}/contacts/new/", data)
    assert response.status_code == 200
    assert message in response.context["form"].errors[field]
    assert not Contact.objects.exists()


# Contacts on the account page: htmx swaps the contacts section; plain forms redirect.


def test_add_contact_with_htmx_returns_the_contacts_section(client, rep):
    account = AccountFactory(owner=rep)
    client.force_login(rep)
    response = client.post(
        f"/accounts/{account.pk}/contacts/new/",
        {"name": "Ann Buyer", "job_title": "CFO", "email": "ann@example.com"},
        HTTP_HX_REQUEST="true",
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert content.lstrip().startswith('<section id="contacts"')
    assert "Ann Buyer" in content and "Contact Ann Buyer added." in content
    assert "<html" not in content


def test_contact_form_errors_with_htmx_stay_in_the_section(client, rep):
    account = AccountFactory(owner=rep)
    client.force_login(rep)
    response = client.post(
        f"/accounts/{account.pk}/contacts/new/", {"name": "", "email": "x"}, HTTP_HX_REQUEST="true"
    )
    content = response.content.decode()
    assert content.lstrip().startswith('<section id="contacts"')
    assert "This field is required." in content and "Enter a valid email address." in content


def test_add_contact_without_javascript_redirects_to_the_account(client, rep):
    account = AccountFactory(owner=rep)
    client.force_login(rep)
    assert b"New contact at" in client.get(f"/accounts/{account.pk}/contacts/new/").content
    response = client.post(
        f"/accounts/{account.pk}/contacts/new/", {"name": "Ann Buyer"}, follow=True
    )
    assert response.redirect_chain == [(f"/accounts/{account.pk}/", 302)]
    assert b"Contact Ann Buyer added." in response.content


def test_edit_and_remove_contact(client, rep):
    contact = ContactFactory(account=AccountFactory(owner=rep), name="Ann")
    client.force_login(rep)
    base = f"/accounts/{contact.account_id}/contacts/{contact.pk}"
    client.post(f"{base}/edit/", {"name": "Ann Buyer", "is_primary": "on"}, HTTP_HX_REQUEST="true")
    contact.refresh_from_db()
    assert (contact.name, contact.is_primary) == ("Ann Buyer", True)
    response = client.post(f"{base}/delete/", HTTP_HX_REQUEST="true")
    assert "Contact Ann Buyer removed." in response.content.decode()
    assert not Contact.objects.exists()


# The list: search, filters, counts, sorting, empty states.


def test_search_finds_accounts_by_contact_name_or_email_without_duplicates(client, rep):
    account = AccountFactory(name="Borealis", owner=rep)
    ContactFactory(account=account, name="Jane Smith", email="jane@borealis.example")
    ContactFactory(account=account, name="John Smith", email="john@borealis.example")
    AccountFactory(name="Unrelated", owner=rep)
    client.force_login(rep)
    assert _names(client.get("/accounts/?q=smith")) == {"Borealis"}
    assert list(client.get("/accounts/?q=smith").context["page"].object_list) == [account]
    assert _names(client.get("/accounts/?q=BOREALIS.example")) == {"Borealis"}
    assert _names(client.get("/accounts/?q=borea")) == {"Borealis"}


def test_filters_and_level_counts(client, rep):
    AccountFactory(
        name="A", owner=rep, relationship_level=RelationshipLevel.CLIENT, industry="retail"
    )
    AccountFactory(
        name="B", owner=rep, relationship_level=RelationshipLevel.CLIENT, industry="energy"
    )
    AccountFactory(
        name="C", owner=rep, relationship_level=RelationshipLevel.SUSPECT, industry="energy"
    )
    client.force_login(rep)
    response = client.get("/accounts/?relationship_level=4")
    assert _names(response) == {"A", "B"}
    counts = {level.label: count for level, count in response.context["level_counts"]}
    # Counts ignore the level filter itself, so the other levels stay one click away.
    assert counts["Client"] == 2 and counts["Suspect"] == 1 and counts["Member"] == 0
    response = client.get("/accounts/?industry=energy")
    assert _names(response) == {"B", "C"}
    counts = {level.label: count for level, count in response.context["level_counts"]}
    assert counts["Client"] == 1 and counts["Suspect"] == 1
    assert _csv_names(client.get("/accounts/export.csv?industry=energy")) == {"B", "C"}


def test_sorting_by_column(client, rep):
    AccountFactory(name="Beta", owner=rep, relationship_level=RelationshipLevel.MEMBER)
    AccountFactory(name="Alpha", owner=rep, relationship_level=RelationshipLevel.SUSPECT)
    AccountFactory(name="Gamma", owner=rep, relationship_level=RelationshipLevel.CLIENT)
    client.force_login(rep)

    def order(query):
        return [a.name for a in client.get(f"/accounts/{query}").context["page"].object_list]

    assert order("") == ["Alpha", "Beta", "Gamma"]
    assert order("?o=-name") == ["Gamma", "Beta", "Alpha"]
    assert order("?o=-level") == ["Beta", "Gamma", "Alpha"]


def test_list_is_paginated(client, rep):
    AccountFactory.create_batch(30, owner=rep)
    client.force_login(rep)
    first = client.get("/accounts/")
    assert len(first.context["page"].object_list) == 25
    assert len(client.get("/accounts/?page=2").context["page"].object_list) == 5
    assert b'rel="next"' in first.content


def test_empty_states(client, rep):
    client.force_login(rep)
    assert b"Create your first account" in client.get("/accounts/").content
    AccountFactory(owner=rep, name="Something")
    assert b"No accounts match" in client.get("/accounts/?q=nothing-like-this").content


def test_csv_export_columns(client, rep):
    account = AccountFactory(name="Acme", owner=rep, relationship_level=RelationshipLevel.SHOPPER)
    ContactFactory(account=account, name="Ann", is_primary=True)
    ContactFactory(account=account, name="Bo")
    client.force_login(rep)
    response = client.get("/accounts/export.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment;" in response["Content-Disposition"]
    content = b"".join(response.streaming_content)
    # Excel takes a CSV without a byte-order mark for the legacy code page: "Ã¥" for "å".
    assert content.startswith(b"\xef\xbb\xbfid,name,")
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0]["id"] == str(account.pk)
    assert rows[0]["name"] == "Acme"
    assert rows[0]["relationship_level"] == "Shopper"
    assert rows[0]["primary_contact"] == "Ann"
    assert rows[0]["contacts"] == "2"
    assert rows[0]["account_manager"] == "Rita Rep"


def test_csv_export_defuses_spreadsheet_formulas(client, rep):
    AccountFactory(name='=HYPERLINK("http://evil.example")', owner=rep)
    client.force_login(rep)
    [row] = csv_rows(client.get("/accounts/export.csv"))
    assert row["name"] == '\'=HYPERLINK("http://evil.example")'


# Detail page.


def test_detail_shows_level_history_and_contacts(client, rep):
    client.force_login(rep)
    client.post("/accounts/new/", {"name": "Acme", "relationship_level": 1})
    account = Account.objects.get()
    client.post(
        f"/accounts/{account.pk}/edit/", {"name": "Acme", "relationship_level": 2, "version": 1}
    )
    ContactFactory(account=account, name="Ann Buyer", is_primary=True)
    content = client.get(f"/accounts/{account.pk}/").content.decode()
    assert "from Suspect" in content and "when the account was created" in content
    assert "by Rita Rep" in content
    assert "Ann Buyer" in content and "primary" in content


def test_markup_in_names_and_notes_is_shown_as_text(client, rep):
    account = AccountFactory(
        owner=rep, name="<script>alert('a')</script>", notes="<b>bold</b> <script>x()</script>"
    )
    ContactFactory(
        account=account, name="<img src=x onerror=alert(1)>", notes="<script>n()</script>"
    )
    client.force_login(rep)
    for url in ["/accounts/", f"/accounts/{account.pk}/", f"/accounts/{account.pk}/edit/"]:
        content = client.get(url).content.decode()
        assert "<script>alert" not in content and "<script>x()" not in content, url
        assert "<img src=x" not in content, url
    assert (
        "&lt;script&gt;alert(&#x27;a&#x27;)&lt;/script&gt;"
        in client.get(f"/accounts/{account.pk}/").content.decode()
    )


def test_deleting_an_account_asks_first_then_deletes(client, rep):
    account = AccountFactory(owner=rep, name="Gone Soon")
    client.force_login(rep)
    assert b"Delete Gone Soon?" in client.get(f"/accounts/{account.pk}/delete/").content
    response = client.post(f"/accounts/{account.pk}/delete/", follow=True)
    assert response.redirect_chain == [("/accounts/", 302)]
    assert b"Account Gone Soon deleted." in response.content
    assert not Account.objects.exists()


# Query counts do not grow with rows.


def _queries(client, url, django_assert_max_num_queries, limit):
    with django_assert_max_num_queries(limit) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_list_queries_do_not_grow_with_accounts(
    client, manager, team, django_assert_max_num_queries
):
    client.force_login(manager)
    reps = list(team.members.all())
    for index in range(10):
        ContactFactory(account=AccountFactory(owner=reps[index % 2]), is_primary=True)
    few = _queries(client, "/accounts/", django_assert_max_num_queries, 12)
    for index in range(90):
        ContactFactory(account=AccountFactory(owner=reps[index % 2]), is_primary=True)
    many = _queries(client, "/accounts/", django_assert_max_num_queries, 12)
    assert few == many


def test_detail_queries_do_not_grow_with_contacts_or_history(
    client, rep, django_assert_max_num_queries
):
    account = AccountFactory(owner=rep)
    ContactFactory(account=account)
    client.force_login(rep)
    few = _queries(client, f"/accounts/{account.pk}/", django_assert_max_num_queries, 12)
    ContactFactory.create_batch(20, account=account)
    for level in range(RelationshipLevel.PROSPECT, RelationshipLevel.POSITIVE_ACTIVIST + 1):
        services.raise_relationship_level(account=account, level=level, user=RepFactory())
    many = _queries(client, f"/accounts/{account.pk}/", django_assert_max_num_queries, 12)
    assert few == many


def test_export_queries_do_not_grow_with_accounts(client, rep, django_assert_max_num_queries):
    AccountFactory.create_batch(5, owner=rep)
    client.force_login(rep)
    with django_assert_max_num_queries(8) as few:
        b"".join(client.get("/accounts/export.csv").streaming_content)
    AccountFactory.create_batch(50, owner=rep)
    with django_assert_max_num_queries(8) as many:
        b"".join(client.get("/accounts/export.csv").streaming_content)
    assert len(few) == len(many)


# Versions: a form saved over someone else's change is refused and shows the current state.


def test_saving_a_stale_edit_form_is_refused_naming_who_changed_the_account(
    client, rep, manager, accounts, settings
):
    settings.TIME_ZONE = "UTC"  # the message's time, in the configured zone
    account = accounts["own"]
    client.force_login(rep)
    form_page = client.get(f"/accounts/{account.pk}/edit/").content.decode()
    assert 'name="version" value="1"' in form_page
    with time_machine.travel(datetime(2026, 5, 4, 14, 30, tzinfo=UTC), tick=False):
        services.update_account(
            account=account, user=manager, seen_version=1, data={"notes": "Manager's note"}
        )

    response = client.post(
        f"/accounts/{account.pk}/edit/",
        {"name": "Renamed", "relationship_level": 1, "notes": "Rep's note", "version": 1},
    )

    assert response.status_code == 200
    content = response.content.decode()
    message = (
        "Own Industries was changed by Maria Manager meanwhile (04 May 2026 14:30). "
        "Nothing was overwritten; here is the current state."
    )
    assert response.context["form"].non_field_errors() == [message]
    assert "Own Industries was changed by Maria Manager meanwhile" in content
    # The form now shows the account as stored, with its current version.
    assert 'name="version" value="2"' in content and "Manager&#x27;s note" in content
    account.refresh_from_db()
    assert (account.name, account.notes, account.version) == ("Own Industries", "Manager's note", 2)


def test_an_edit_form_opened_before_a_win_cannot_put_the_level_back(client, rep, accounts):
    account = accounts["own"]
    client.force_login(rep)
    services.raise_relationship_level(account=account, level=RelationshipLevel.SHOPPER, user=rep)
    response = client.post(
        f"/accounts/{account.pk}/edit/",
        {"name": account.name, "relationship_level": RelationshipLevel.SUSPECT, "version": 1},
    )
    assert response.status_code == 200
    assert "was changed by Rita Rep meanwhile" in response.content.decode()
    account.refresh_from_db()
    assert account.relationship_level == RelationshipLevel.SHOPPER


def test_an_edit_form_without_its_version_is_refused(client, rep, accounts):
    account = accounts["own"]
    client.force_login(rep)
    response = client.post(
        f"/accounts/{account.pk}/edit/", {"name": "Renamed", "relationship_level": 1}
    )
    assert response.status_code == 200
    assert "version" in response.context["form"].errors
    account.refresh_from_db()
    assert account.name == "Own Industries"


def test_an_admin_form_saved_after_a_win_does_not_put_the_level_back(client, pipeline_admin, rep):
    account = AccountFactory(owner=rep, relationship_level=RelationshipLevel.SUSPECT)
    form = {
        "name": account.name,
        "website": account.website,
        "industry": account.industry,
        "owner": rep.pk,
        "relationship_level": RelationshipLevel.SUSPECT,
        "notes": "Met at the fair",
        "version": 1,
        "contacts-TOTAL_FORMS": 0,
        "contacts-INITIAL_FORMS": 0,
    }
    # The admin loaded the page at version 1; then a win raised the account to Shopper.
    services.raise_relationship_level(account=account, level=RelationshipLevel.SHOPPER, user=rep)
    client.force_login(pipeline_admin)
    url = f"/admin/accounts/account/{account.pk}/change/"
    response = client.post(url, form)
    assert response.status_code == 200
    assert "was changed by Rita Rep meanwhile" in response.content.decode()
    account.refresh_from_db()
    assert (account.relationship_level, account.notes) == (RelationshipLevel.SHOPPER, "")
    # From the current version, the admin's change is saved, through the service.
    response = client.post(url, form | {"version": 2, "relationship_level": 4})
    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.relationship_level, account.notes, account.version) == (4, "Met at the fair", 3)
    assert account.history.latest("history_id").history_user == pipeline_admin


def test_phone_numbers_are_tap_to_call_and_emails_open_mail(client, rep):
    account = AccountFactory(owner=rep)
    ContactFactory(account=account, name="Anna", phone="+49 (30) 1234-567", email="a@x.example")
    ContactFactory(account=account, name="Ben", phone="ask reception")
    client.force_login(rep)
    content = client.get(f"/accounts/{account.pk}/").content.decode()
    assert '<a href="tel:+49301234567">+49 (30) 1234-567</a>' in content
    assert '<a href="mailto:a@x.example">' in content
    assert "ask reception" in content and 'href="tel:"' not in content


def test_djangos_usual_login_url_leads_to_ours_keeping_next(client, db):
    response = client.get("/accounts/login/?next=/projects/")
    assert response.status_code == 301
    assert response["Location"] == "/login/?next=/projects/"


@pytest.mark.parametrize(
    "text",
    ["=1+1", "+1", "-1+cmd", "@SUM(A1)", "  =1+1", "\n=1+1", "\r\n@x", "\t=x", "\tplain"],
)
def test_every_text_cell_that_could_be_a_formula_is_defused(text):
    assert _cell(text) == "'" + text


def test_cells_that_are_not_text_stay_and_objects_are_checked_as_text(rep):
    assert (_cell(-5), _cell(Decimal("-1.50")), _cell(None), _cell("Acme")) == (
        -5,
        Decimal("-1.50"),
        None,
        "Acme",
    )
    rep.first_name = "=cmd|' /C calc'!A0"
    assert _cell(rep) == "'" + str(rep)


def test_an_export_is_sent_a_few_lines_at_a_time_every_line_once(client, rep, monkeypatch):
    monkeypatch.setattr(listing, "LINES_A_CHUNK", 2)
    for number in range(5):
        AccountFactory(name=f"Account {number}", owner=rep)
    client.force_login(rep)
    chunks = list(client.get("/accounts/export.csv").streaming_content)
    # The header, two chunks of two lines, the last line.
    assert [chunk.count(b"\r\n") for chunk in chunks] == [1, 2, 2, 1]
    names = [
        row["name"] for row in csv.DictReader(io.StringIO(b"".join(chunks).decode("utf-8-sig")))
    ]
    assert sorted(names) == [f"Account {number}" for number in range(5)]


def test_csv_export_defuses_a_formula_in_an_owners_name(client, rep):
    rep.first_name = "=HYPERLINK(1)"
    rep.save()
    AccountFactory(name="Plain", owner=rep)
    client.force_login(rep)
    [row] = csv_rows(client.get("/accounts/export.csv"))
    assert [value for value in row.values() if "HYPERLINK" in value] == ["'=HYPERLINK(1) Rep"]


def test_every_admin_page_over_history_is_read_only(client, pipeline_admin, rep):
    with_history = [
        model_admin
        for model_admin in django_admin.site._registry.values()
        if isinstance(model_admin, SimpleHistoryAdmin)
    ]
    assert with_history and all(isinstance(m, ReadOnlyHistoryAdmin) for m in with_history)

    account = AccountFactory(name="Original", owner=rep)
    services.update_account(account=account, user=rep, seen_version=1, data={"name": "Renamed"})
    version = account.history.order_by("history_date").first().history_id
    url = f"/admin/accounts/account/{account.pk}/history/{version}/"
    client.force_login(pipeline_admin)
    page = client.get(url)
    assert page.status_code == 200 and b"Revert" not in page.content
    forged = {"name": "Forged", "owner": rep.pk, "relationship_level": 1, "version": 2}
    assert client.post(url, forged).status_code == 405
    account.refresh_from_db()
    assert (account.name, account.version) == ("Renamed", 2)
