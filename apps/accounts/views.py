from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts import selectors, services
from apps.accounts.filters import AccountFilter
from apps.accounts.forms import AccountForm, ContactForm
from apps.accounts.models import LEVEL_MEANINGS, RelationshipLevel
from apps.users.roles import sees_everyone, visible_to
from pipeline_crm.forms import current_state_form
from pipeline_crm.listing import csv_response, sort_columns

ACCOUNTS_PER_PAGE = 25


@require_GET
def account_list(request):
    accounts = selectors.visible_accounts(request.user)
    account_filter = AccountFilter(request.GET, queryset=accounts, user=request.user)
    filtered = account_filter.qs
    # The level counts answer "how many at each level" for the other filters, so a click on
    # one narrows the list to it.
    without_level = request.GET.copy()
    without_level.pop("relationship_level", None)
    counts = selectors.level_counts(
        AccountFilter(without_level, queryset=accounts, user=request.user).qs
    )
    page = Paginator(selectors.with_list_columns(filtered), ACCOUNTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "accounts/account_list.html",
        {
            "filter": account_filter,
            "page": page,
            "level_counts": [(level, counts.get(level.value, 0)) for level in RelationshipLevel],
            "selected_level": request.GET.get("relationship_level", ""),
            "columns": sort_columns(SORTABLE_COLUMNS, request.GET.get("o", "")),
            "has_any_account": accounts.exists(),
        },
    )


SORTABLE_COLUMNS = [
    ("name", "Account"),
    ("level", "Level"),
    ("industry", "Industry"),
    ("owner", "Account manager"),
    ("updated", "Updated"),
]


@require_GET
def account_export(request):
    """The filtered account list as CSV: only what the user may see."""
    accounts = AccountFilter(
        request.GET, queryset=selectors.visible_accounts(request.user), user=request.user
    ).qs
    header = ["id", "name", "website", "industry", "relationship_level", "account_manager"]
    header += ["primary_contact", "contacts", "created_at", "updated_at"]
    rows = (
        [
            account.pk,
            account.name,
            account.website,
            account.get_industry_display(),
            account.get_relationship_level_display(),
            account.owner,
            account.primary_contact_name or "",
            account.contact_count,
            account.created_at.isoformat(),
            account.updated_at.isoformat(),
        ]
        for account in selectors.with_list_columns(accounts).iterator(chunk_size=1000)
    )
    return csv_response("accounts", header, rows)


@require_http_methods(["GET", "POST"])
def account_create(request):
    form = AccountForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            account = services.create_account(user=request.user, data=form.cleaned_data)
        except services.AccountError as error:
            _add_error(form, error)
        else:
            messages.success(request, f"Account {account.name} created.")
            return redirect(account)
    return render(request, "accounts/account_form.html", {"form": form})


@require_GET
def account_detail(request, pk):
    account = get_object_or_404(
        selectors.visible_accounts(request.user).select_related("owner"), pk=pk
    )
    return render(request, "accounts/account_detail.html", _detail_context(request, account))


@require_http_methods(["GET", "POST"])
def account_edit(request, pk):
    account = get_object_or_404(selectors.editable_accounts(request.user), pk=pk)
    form = AccountForm(request.POST or None, instance=account, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.update_account(
                account=account, user=request.user, seen_version=data["version"], data=data
            )
        except services.StaleAccount as error:
            # What the message promises: the form now shows the account as it is, with its
            # current version, so saving again is a decision made on what the user sees.
            account = error.account
            form = current_state_form(AccountForm, instance=account, user=request.user)
            _add_error(form, error)
        except services.AccountError as error:
            _add_error(form, error)
        else:
            messages.success(request, "Account saved.")
            return redirect(account)
    return render(request, "accounts/account_form.html", {"form": form, "account": account})


def _add_error(form, error):
    """A refused write on the form: a duplicate name at the name, anything else above all fields."""
    form.add_error("name" if isinstance(error, services.DuplicateAccountName) else None, error)


@require_http_methods(["GET", "POST"])
def account_delete(request, pk):
    account = get_object_or_404(selectors.editable_accounts(request.user), pk=pk)
    if request.method == "POST":
        try:
            services.delete_account(account=account, user=request.user)
        except services.AccountError as error:
            messages.error(request, error)
            return redirect(account)
        messages.success(request, f"Account {account.name} deleted.")
        return redirect("accounts:list")
    context = {"account": account, "in_use": account.projects.exists()}
    return render(request, "accounts/account_confirm_delete.html", context)


@require_http_methods(["GET", "POST"])
def contact_create(request, pk):
    account = get_object_or_404(selectors.editable_accounts(request.user), pk=pk)
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        contact = services.create_contact(
            account=account, user=request.user, data=form.cleaned_data
        )
        return _contacts_changed(request, account, f"Contact {contact.name} added.")
    return _contact_form(request, account, form)


@require_http_methods(["GET", "POST"])
def contact_edit(request, pk, contact_pk):
    account = get_object_or_404(selectors.editable_accounts(request.user), pk=pk)
    contact = get_object_or_404(account.contacts, pk=contact_pk)
    form = ContactForm(request.POST or None, instance=contact)
    if request.method == "POST" and form.is_valid():
        services.update_contact(contact=contact, user=request.user, data=form.cleaned_data)
        return _contacts_changed(request, account, f"Contact {contact.name} saved.")
    return _contact_form(request, account, form, contact=contact)


@require_POST
def contact_delete(request, pk, contact_pk):
    account = get_object_or_404(selectors.editable_accounts(request.user), pk=pk)
    contact = get_object_or_404(account.contacts, pk=contact_pk)
    services.delete_contact(contact=contact, user=request.user)
    return _contacts_changed(request, account, f"Contact {contact.name} removed.")


def _detail_context(request, account):
    return {
        "account": account,
        # The account's projects that the user may see, by the one visibility base (`projects`
        # is CustomerProject.account's reverse relation: accounts does not import projects).
        "projects": visible_to(request.user, account.projects.all())
        .select_related("stage", "pipeline", "owner")
        .order_by("status", "-value"),
        "can_see_all_projects": sees_everyone(request.user),
        "contacts": account.contacts.all(),
        "level_history": selectors.level_history(account),
        "level_meaning": LEVEL_MEANINGS[account.level],
        "can_edit": selectors.editable_accounts(request.user).filter(pk=account.pk).exists(),
        # Any project, seen or not: the database protects the account from deletion while one
        # refers to it, so Delete is not offered (services.delete_account refuses it anyway).
        "in_use": account.projects.exists(),
    }


def _contact_form(request, account, form, contact=None):
    """The contact form: inside the refreshed contacts section for htmx, else a page."""
    if request.htmx:
        context = _detail_context(request, account) | {"form": form, "contact": contact}
        return render(request, "accounts/account_detail.html#contacts", context)
    context = {"account": account, "form": form, "contact": contact}
    return render(request, "accounts/contact_form.html", context)


def _contacts_changed(request, account, message):
    """After a contact write: htmx gets the refreshed contacts section, a plain form a redirect."""
    if request.htmx:
        context = _detail_context(request, account) | {"status_message": message}
        return render(request, "accounts/account_detail.html#contacts", context)
    messages.success(request, message)
    return redirect(account)
