from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.projects import selectors


@require_GET
def account_search(request):
    """The accounts the user may see whose names have words starting with the words typed
    (the new project form's account field asks as the user types), and an offer to create
    an account with the name typed when no account has it."""
    text = (request.GET.get("q") or request.GET.get("account_name") or "")[:200]
    context = {"found": selectors.account_choices(request.user, text)}
    return render(request, "projects/project_form.html#account-options", context)


@require_GET
def search(request):
    """One box for accounts, contacts and projects by name (the navigation's, `/` focuses
    it); htmx asks for the results alone as the user types."""
    text = request.GET.get("q", "")[:200]
    context = {"q": text, "found": selectors.search(request.user, text)}
    if request.htmx:
        return render(request, "projects/search.html#results", context)
    return render(request, "projects/search.html", context)
