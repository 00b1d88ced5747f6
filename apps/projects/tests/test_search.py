"""The navigation's search: accounts, contacts and projects by the starts of the words of
their names, accents and case aside, only what the user may see, in constant queries."""

import pytest
from django.db import connection

from apps.accounts.factories import AccountFactory, ContactFactory
from apps.accounts.models import Account, Contact
from apps.pipeline.factories import ProjectFactory
from apps.projects.selectors import SEARCH_LISTED, search
from pipeline_crm.search import fold, search_query

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def named(rep, other_rep, team, other_team):
    own = AccountFactory(owner=rep, name="Købmand Fjeldsø A/S", website="")
    return {
        "own": own,
        "contact": ContactFactory(account=own, name="Åse Ørsted", job_title="CFO"),
        "project": ProjectFactory(account=own, title="ERP-Einführung für Müller"),
        "other": AccountFactory(owner=other_rep, name="Købmand Other"),
        "other_contact": ContactFactory(
            account=AccountFactory(owner=other_rep, name="Elsewhere"), name="Åse Hidden"
        ),
        "other_project": ProjectFactory(
            account=AccountFactory(owner=other_rep, name="Far away"), title="ERP hidden"
        ),
    }


def _found(user, text):
    found = search(user, text)
    return {kind: [str(row) for row in found[kind].rows] for kind in found}


def test_words_are_folded_the_same_in_python_and_in_the_database(named):
    assert fold("Købmand FJELDSØ Straße İstanbul Łódź") == "kobmand fjeldso strase istanbul lodz"
    assert Account.objects.get(pk=named["own"].pk).search == "'a/s':3 'fjeldso':2 'kobmand':1"


@pytest.mark.parametrize("typed", ["kob", "KØB fjel", "købmand", "Kobmand Fjeldsø", "fjel kob"])
def test_accounts_are_found_by_the_start_of_any_word_whatever_the_accents(rep, named, typed):
    assert _found(rep, typed)["accounts"] == ["Købmand Fjeldsø A/S"]


def test_contacts_and_projects_are_found_too(rep, named):
    assert _found(rep, "ase")["contacts"] == ["Åse Ørsted"]
    assert _found(rep, "einfuhr mul")["projects"] == ["ERP-Einführung für Müller"]
    assert _found(rep, "erp")["projects"] == ["ERP-Einführung für Müller"]
    assert _found(rep, "orsted xyz") == {"accounts": [], "contacts": [], "projects": []}


@pytest.mark.parametrize(
    "typed",
    ["anna.berg@fjord-cargo.no", "anna.berg", "fjord-cargo.no", "ANNA BERG@FJORD"],
)
def test_contacts_are_found_by_their_email_address(rep, typed):
    account = AccountFactory(owner=rep, name="Fjord Cargo")
    ContactFactory(account=account, name="Anna Berg", email="anna.berg@fjord-cargo.no")
    ContactFactory(account=account, name="Bo Holm", email="bo@elsewhere.example", phone="")
    assert _found(rep, typed)["contacts"] == ["Anna Berg"]


@pytest.mark.parametrize(
    "typed", ["+45 81 61 32 71", "81613271", "8161 3271", "81 61", "0045 8161 3271"[2:], "3271"]
)
def test_contacts_are_found_by_their_phone_number_however_it_is_typed(rep, typed):
    account = AccountFactory(owner=rep, name="Fjord Cargo")
    ContactFactory(account=account, name="Anna Berg", phone="+45 81 61 32 71")
    ContactFactory(account=account, name="Bo Holm", phone="+45 22 33 44 55")
    assert _found(rep, typed)["contacts"] == ["Anna Berg"]


@pytest.mark.parametrize(
    "typed", ["https://www.fjord-cargo.no", "fjord-cargo.no", "www.fjord-cargo", "cargo.no"]
)
def test_accounts_are_found_by_their_website(rep, typed):
    AccountFactory(owner=rep, name="Nordic Freight", website="https://www.fjord-cargo.no")
    AccountFactory(owner=rep, name="Other", website="https://other.example")
    assert _found(rep, typed)["accounts"] == ["Nordic Freight"]


@pytest.mark.parametrize(
    ("model", "index"),
    [(Account, "accounts_account_search_idx"), (Contact, "accounts_contact_search_idx")],
)
def test_a_search_by_address_or_phone_reads_the_search_index(rep, model, index):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # as on a table of thousands
    plan = model.objects.filter(search=search_query("anna.berg@fjord 8161")).explain()
    assert f"Bitmap Index Scan on {index}" in plan


def test_names_in_other_scripts_are_found_in_the_search_and_the_project_list(client, rep):
    ProjectFactory(account=AccountFactory(owner=rep, name="Газпром нефть"), title="ERP 東京")
    assert _found(rep, "газп")["accounts"] == ["Газпром нефть"]
    assert _found(rep, "ГАЗПРОМ")["accounts"] == ["Газпром нефть"]
    assert _found(rep, "東京")["projects"] == ["ERP 東京"]
    client.force_login(rep)
    listed = client.get("/projects/", {"q": "нефть"}).context["page"].object_list
    assert [project.title for project in listed] == ["ERP 東京"]


def test_nobody_finds_what_they_may_not_see(rep, manager, other_manager, pipeline_admin, named):
    assert _found(rep, "kob")["accounts"] == ["Købmand Fjeldsø A/S"]
    assert _found(rep, "ase")["contacts"] == ["Åse Ørsted"]
    assert _found(rep, "erp")["projects"] == ["ERP-Einführung für Müller"]
    assert _found(other_manager, "kob")["accounts"] == ["Købmand Other"]
    assert _found(other_manager, "ase")["contacts"] == ["Åse Hidden"]
    assert _found(other_manager, "erp")["projects"] == ["ERP hidden"]
    everything = _found(pipeline_admin, "kob") | {
        "projects": _found(pipeline_admin, "erp")["projects"]
    }
    assert everything["accounts"] == ["Købmand Fjeldsø A/S", "Købmand Other"]
    assert sorted(everything["projects"]) == ["ERP hidden", "ERP-Einführung für Müller"]


def test_a_renamed_account_is_found_by_its_new_name(rep, named):
    account = named["own"]
    Account.objects.filter(pk=account.pk).update(name="Nordlys Énergie")
    assert _found(rep, "ener")["accounts"] == ["Nordlys Énergie"]
    assert _found(rep, "kob")["accounts"] == []


@pytest.mark.parametrize(
    "typed",
    ["", "   ", "&|!:*'()", "a & !b", "\x00", "²", "x" * 10_000, "'; DROP TABLE x; --", "ä:*|"],
)
def test_anything_typed_answers_without_an_error(client, rep, named, typed):
    client.force_login(rep)
    for headers in ({}, HTMX):
        response = client.get("/search/", {"q": typed}, **headers)
        assert response.status_code == 200
    assert search_query("&|!:*'()") is None


def test_the_page_and_the_live_results(client, rep, named):
    client.force_login(rep)
    page = client.get("/search/?q=kob").content.decode()
    assert "<h1>Search</h1>" in page and named["own"].get_absolute_url() in page
    live = client.get("/search/?q=kob", **HTMX).content.decode()
    assert live.lstrip().startswith('<div id="search-results"')
    assert named["own"].get_absolute_url() in live
    assert "Nothing you can see is called" in client.get("/search/?q=zzz").content.decode()


def test_many_matches_show_a_few_and_link_to_the_lists_which_find_them_too(client, rep):
    account = AccountFactory(owner=rep, name="Ørsted Holding")
    for number in range(SEARCH_LISTED + 2):
        ProjectFactory(account=account, title=f"Vindmølle {number}")
    client.force_login(rep)
    found = search(rep, "vindmo")
    assert len(found["projects"].rows) == SEARCH_LISTED and found["projects"].more
    page = client.get("/search/?q=vindmo").content.decode()
    assert "/projects/?q=vindmo" in page
    listed = client.get("/projects/?q=vindmo")
    assert listed.context["page"].paginator.count == SEARCH_LISTED + 2
    assert client.get("/accounts/?q=orsted hold").context["page"].paginator.count == 1


def test_search_takes_the_same_queries_with_more_matches(
    client, rep, named, django_assert_max_num_queries
):
    client.force_login(rep)

    def count():
        with django_assert_max_num_queries(12) as captured:
            client.get("/search/?q=a")
        return len(captured)

    few = count()
    for number in range(5):
        account = AccountFactory(owner=rep, name=f"Alpha {number}")
        ContactFactory(account=account, name=f"Anna {number}")
        ProjectFactory(account=account, title=f"Apollo {number}")
    assert count() == few
