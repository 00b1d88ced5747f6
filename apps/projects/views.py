from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.pipeline import services as lifecycle
from apps.pipeline.forms import LifecycleForm, MoveForm
from apps.pipeline.selectors import timeline
from apps.projects import selectors, services
from apps.projects.filters import ProjectFilter
from apps.projects.forms import NextStepForm, NoteForm, ProjectCreateForm, ProjectEditForm
from apps.projects.models import EDITABLE_FIELDS, CustomerProject, ProjectFacts, ProjectStatus
from apps.users.models import name_of
from pipeline_crm.errors import DomainError
from pipeline_crm.forms import current_state_form, problems, seen_stale
from pipeline_crm.listing import ByRelated, IdsFirstPaginator, csv_response, sort_columns

PROJECTS_PER_PAGE = 25
SORTABLE_COLUMNS = [
    ("title", "Project"),
    ("account", "Account"),
    ("owner", "Account manager"),
    ("stage", "Stage"),
    ("value", f"Value ({settings.DEFAULT_CURRENCY})"),
    ("probability", "%"),
    ("close", "Expected close"),
]

# Sorts by a key that no index of the projects table serves, with few values beside the
# projects: a page is found by counting each value's projects (IdsFirstPaginator). The other
# sorts (title, value, close date, last change) read an index of (key, id).
GROUPED_SORTS = {
    "account__name": ByRelated("account", "name"),
    "owner_name": ByRelated("owner", name_of()),
    "stage__order": ByRelated("stage", "order"),
    "effective_probability": None,  # by the value: it is worked out per project
}


def _filtered(request):
    projects = selectors.visible_projects(request.user)
    return ProjectFilter(request.GET, queryset=projects, user=request.user)


@require_GET
def project_list(request):
    project_filter = _filtered(request)
    paginator = IdsFirstPaginator(
        project_filter.qs,
        PROJECTS_PER_PAGE,
        rows=selectors.with_list_columns,
        grouped=GROUPED_SORTS,
    )
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "projects/project_list.html",
        {
            "filter": project_filter,
            "page": page,
            "columns": sort_columns(SORTABLE_COLUMNS, request.GET.get("o", "")),
            "has_any_project": selectors.visible_projects(request.user).exists(),
        },
    )


# The export's columns: the CSV header and where each value comes from, read as plain values
# (building model objects cost ~190 µs a row: 100,000 rows took 21 s).
EXPORT_COLUMNS = {
    "id": "pk",  # first, for a spreadsheet's lookups and to match a row to its project page
    "title": "title",
    "account": "account__name",
    "account_manager": "owner_name",
    "pipeline": "pipeline__name",
    "stage": "stage__name",
    "status": "status",
    "value": "value",
    "individual_probability": "individual_probability",
    "effective_probability": "effective_probability",
    "weighted_value": "weighted_value",
    "expected_close_date": "expected_close_date",
    "next_step": "next_step",
    "next_step_date": "next_step_date",
    "created_at": "created_at",
    "closed_at": "closed_at",
}
STATUS_LABELS = dict(ProjectStatus.choices)
CENT = Decimal("0.01")  # weighted values to the cent, half up as the pages show them


def _export_rows(projects):
    status, weighted, created, closed = (
        list(EXPORT_COLUMNS).index(name)
        for name in ("status", "weighted_value", "created_at", "closed_at")
    )
    for values in projects.values_list(*EXPORT_COLUMNS.values()).iterator(chunk_size=2000):
        row = list(values)
        row[status] = STATUS_LABELS[row[status]]
        row[weighted] = row[weighted].quantize(CENT, rounding=ROUND_HALF_UP)
        row[created] = row[created].isoformat()
        row[closed] = row[closed] and row[closed].isoformat()
        yield row  # None is an empty cell


@require_GET
def project_export(request):
    """The filtered project list as CSV: only what the user may see."""
    projects = _filtered(request).qs.with_effective_probability()
    projects = projects.annotate(owner_name=name_of("owner"))
    return csv_response("projects", list(EXPORT_COLUMNS), _export_rows(projects))


@require_http_methods(["GET", "POST"])
def project_create(request):
    initial = {"account": request.GET.get("account", "")[:20]}
    form = ProjectCreateForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        fields = {field: data[field] for field in EDITABLE_FIELDS if field in data}
        fields.setdefault("owner", request.user)  # A rep's projects are their own.
        try:
            if data["account"]:
                facts = ProjectFacts(account=data["account"], **fields)
                transition = lifecycle.open_project(
                    facts=facts, user=request.user, pipeline=data["pipeline"]
                )
            else:
                transition = lifecycle.open_project_for_new_account(
                    name=form.new_account_name,
                    fields=fields,
                    user=request.user,
                    pipeline=data["pipeline"],
                )
        except DomainError as error:
            form.add_error(None, error)
        except ValidationError as error:  # the new account's own checks
            for message in error.messages:
                form.add_error(None, message)
        else:
            if form.account_note:
                messages.info(request, form.account_note)
            messages.success(request, f"Project {transition.project.title} opened.")
            return redirect(transition.project)
    return render(request, "projects/project_form.html", {"form": form})


@require_GET
def account_search(request):
    """The accounts the user may see whose names have words starting with the words typed
    (the new project form's account field asks as the user types), and an offer to create
    an account with the name typed when no account has it."""
    text = (request.GET.get("q") or request.GET.get("account_name") or "")[:200]
    context = {"found": selectors.account_choices(request.user, text)}
    return render(request, "projects/project_form.html#account-options", context)


@require_GET
def project_detail(request, pk):
    try:
        project = selectors.project_for_detail(request.user, pk)
    except CustomerProject.DoesNotExist:
        raise Http404("No such project.") from None
    return render(request, "projects/project_detail.html", _detail_context(project))


@require_http_methods(["GET", "POST"])
def project_edit(request, pk):
    project = get_object_or_404(selectors.visible_projects(request.user), pk=pk)
    form = ProjectEditForm(
        request.POST if request.method == "POST" else None,
        instance=project,
        user=request.user,
        initial={"version": project.version},
    )
    if request.method == "POST":
        try:
            # A stale form is a conflict, whatever the checks of the project as it is now
            # would say of it (the fields of a stage it reached meanwhile, say).
            if seen_stale(form, project):
                raise services.StaleProject(project)
            if form.is_valid():
                lifecycle.update_project(
                    project=project,
                    user=request.user,
                    seen_version=form.cleaned_data["version"],
                    data=form.cleaned_data,
                )
                messages.success(request, "Project saved.")
                return redirect(project)
        except services.StaleProject as error:
            # Show what is stored now (and its version), so the user can redo their change
            # on it rather than resubmit a form that can only be refused again.
            project.refresh_from_db()
            form = current_state_form(
                ProjectEditForm,
                instance=project,
                user=request.user,
                initial={"version": project.version},
            )
            form.add_error(None, error)
        except DomainError as error:
            form.add_error(None, error)
    return render(request, "projects/project_form.html", {"form": form, "project": project})


@require_POST
def note_create(request, pk):
    project = get_object_or_404(selectors.visible_projects(request.user), pk=pk)
    form = NoteForm(request.POST)
    if not form.is_valid():
        # The page again with what was typed and what is wrong with it (nothing written).
        project = selectors.project_for_detail(request.user, pk)
        context = _detail_context(project) | {"note_form": form}
        return render(request, "projects/project_detail.html", context, status=400)
    services.add_note(project=project, user=request.user, text=form.cleaned_data["text"])
    messages.success(request, "Note added.")
    return redirect(f"{project.get_absolute_url()}#notes")


@require_POST
def next_step(request, pk):
    """Set a project's next step from its page: htmx swaps the block in place; a plain form
    comes back to the page with a message. Refused, the typed step stays in the box."""
    project = get_object_or_404(selectors.visible_projects(request.user), pk=pk)
    done = "done" in request.POST
    if done:
        # "Mark done" clears the step (whatever the boxes hold); its history records that.
        form = NextStepForm({"version": request.POST.get("version", ""), "next_step": ""})
    else:
        form = NextStepForm(request.POST)
    refused = None
    if form.is_valid():
        try:
            project = lifecycle.set_next_step(
                project=project,
                user=request.user,
                seen_version=form.cleaned_data["version"],
                next_step=form.cleaned_data["next_step"],
                next_step_date=form.cleaned_data["next_step_date"],
            )
        except DomainError as error:
            refused = str(error)
            project.refresh_from_db()
            # What was typed, on the version now stored: saving it again is a choice made
            # having seen the current next step above the box.
            form = NextStepForm({**request.POST.dict(), "version": project.version})
        else:
            form = _next_step_form(project)
    if not request.htmx:
        if refused or form.errors:
            messages.error(request, f"The next step was not saved: {refused or problems(form)}")
        else:
            messages.success(request, "Next step done." if done else "Next step saved.")
        return redirect(f"{project.get_absolute_url()}#next-step")
    context = {"project": project, "next_step_form": form, "next_step_refused": refused}
    if refused or form.errors:
        return render(request, "projects/project_detail.html#next-step", context)
    # Saved: the block, and the timeline with the step's change on top (out of band).
    context |= {"timeline": timeline(project), "timeline_oob": True}
    return render(request, "projects/next_step_saved.html", context)


def _next_step_form(project):
    return NextStepForm(
        initial={
            "next_step": project.next_step,
            "next_step_date": project.next_step_date,
            "version": project.version,
        }
    )


def _detail_context(project):
    move_form = MoveForm(project=project, initial={"version": project.version})
    move_stages = list(move_form.fields["to_stage"].queryset)
    return {
        "project": project,
        "timeline": timeline(project),
        "notes": project.notes.all(),
        "note_form": NoteForm(),
        "next_step_form": _next_step_form(project),
        "move_form": move_form,
        "move_stages": move_stages,
        # "Move to" starts at the next stage, so one click never sends a project back; after
        # the last open stage (Won is its own button) nothing is chosen until the user does.
        "next_stage": next(
            (stage for stage in move_stages if stage.order > project.stage.order), None
        ),
        "version_form": LifecycleForm(initial={"version": project.version}),
    }


@require_GET
def search(request):
    """One box for accounts, contacts and projects by name (the navigation's, `/` focuses
    it); htmx asks for the results alone as the user types."""
    text = request.GET.get("q", "")[:200]
    context = {"q": text, "found": selectors.search(request.user, text)}
    if request.htmx:
        return render(request, "projects/search.html#results", context)
    return render(request, "projects/search.html", context)
