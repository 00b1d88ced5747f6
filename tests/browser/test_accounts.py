import re

from playwright.sync_api import expect

from tests.browser.pages import log_in


def test_create_an_account_and_add_a_contact_on_its_page(page, live_server, rep):
    log_in(page, live_server, "rep")
    page.get_by_role("link", name="Accounts").first.click()
    expect(page.get_by_role("heading", name="No accounts yet")).to_be_visible()
    page.get_by_role("button", name="Create your first account").click()

    page.get_by_label("Name").fill("Borealis Freight")
    page.get_by_label("Website").fill("https://borealis.example")
    page.get_by_label("Industry").select_option(label="Transport and logistics")
    page.get_by_label("Relationship level").select_option(label="Prospect")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Borealis Freight")).to_be_visible()
    account_url = page.url

    # The contact form opens and saves inside the page (htmx), without a page load.
    page.evaluate("window.notReloaded = true")
    page.get_by_role("button", name="Add contact").click()
    page.get_by_label("Name").fill("Ingrid Nyberg")
    page.get_by_label("Job title").fill("Head of Purchasing")
    page.get_by_label("Email").fill("ingrid@borealis.example")
    page.get_by_role("button", name="Add contact").click()
    contacts = page.locator("#contacts")
    expect(contacts.get_by_role("status")).to_have_text("Contact Ingrid Nyberg added.")
    expect(contacts.get_by_role("row", name=re.compile("Ingrid Nyberg primary"))).to_be_visible()
    assert page.evaluate("window.notReloaded") is True
    assert page.url == account_url

    page.get_by_role("link", name="Accounts").first.click()
    row = page.get_by_role("row", name=re.compile("Borealis Freight"))
    expect(row).to_contain_text("Prospect")
    expect(row).to_contain_text("Ingrid Nyberg")


def test_contact_errors_show_in_place(page, live_server, rep):
    from apps.accounts.factories import AccountFactory

    account = AccountFactory(owner=rep, name="Acme")
    log_in(page, live_server, "rep")
    page.goto(f"{live_server.url}/accounts/{account.pk}/")
    page.get_by_role("button", name="Add contact").click()
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_role("button", name="Add contact").click()
    expect(page.locator("#contacts")).to_contain_text("This field is required.")
    expect(page.locator("#contacts")).to_contain_text("Enter a valid email address.")
