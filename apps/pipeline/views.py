from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.pipeline import services
from apps.pipeline.filters import ProjectFilter
from apps.pipeline.forms import (
    CompactForm,
    EntryFieldsMixin,
    LifecycleForm,
    MoveForm,
    ProjectCreateForm,
    ProjectEditForm,
    StopForm,
    WinForm,
)
from apps.pipeline.models import Pipeline, PipelineKind
from apps.pipeline.selectors import board_columns, board_total, timeline
from apps.projects.forms import NextStepForm, NoteForm
from apps.projects.models import EDITABLE_FIELDS, CustomerProject, ProjectFacts, ProjectStatus
from apps.projects.selectors import project_for_detail, visible_projects, with_list_columns
from apps.projects.services import StaleProject, add_note
from apps.users.models import name_of
from pipeline_crm.errors import DomainError
from pipeline_crm.forms import current_state_form, seen_stale
from pipeline_crm.forms import problems as form_problems
from pipeline_crm.http import safe_next
from pipeline_crm.listing import ByRelated, IdsFirstPaginator, csv_response, sort_columns


@require_GET
def board_index(request):
    """The board of the default customer acquisition pipeline."""
    pipeline = Pipeline.objects.filter(kind=PipelineKind.ACQUISITION, is_default=True).first()
    if pipeline is None:
        pipeline = get_object_or_404(Pipeline.objects.order_by("pk")[:1])
    return redirect(pipeline)


@require_GET
def board(request, pk):
    pipeline = get_object_or_404(Pipeline, pk=pk)
    template = "pipeline/board.html#board" if request.htmx else "pipeline/board.html"
    return render(request, template, _board_context(request, pipeline, request.GET))


@require_http_methods(["GET", "POST"])
def project_move(request, pk):
    """GET: the move form (the board's move dialog, or a page of its own without
    JavaScript). POST: the move. When the stage needs fields the project lacks, the answer
    is the form asking for exactly those; sent with them, the move completes in one request."""
    project = _visible_project(request, pk)
    if request.method == "GET":
        form = MoveForm(project=project, initial={"version": project.version})
        return _ask(request, "move", project, form)
    form = MoveForm(request.POST, project=project)
    return _lifecycle(
        request,
        project,
        form,
        services.move_project,
        lambda data: f"{project.title} moved to {data['to_stage']}.",
        passed=["to_stage"],
        ask=lambda asked: MoveForm(
            project=project, asked=asked, initial=_initial(request, "to_stage", "version", "note")
        ),
    )


@require_http_methods(["GET", "POST"])
def project_win(request, pk):
    """GET: the win to confirm, with the value and the day it was won, today (the board's
    and the project page's dialog, or a page without JavaScript). POST: the win, with the
    facts as confirmed."""
    project = _visible_project(request, pk)
    if request.method == "GET":
        initial = {
            "version": project.version,
            "value": project.value,
            "won_on": timezone.localdate(),
        }
        form = WinForm(project=project, initial=initial)
        return _ask(request, "win", project, form)
    form = WinForm(request.POST, project=project)
    return _lifecycle(
        request,
        project,
        form,
        services.win_project,
        lambda data: f"{project.title} won. Congratulations!",
        passed=["value", "won_on"],
        ask=lambda asked: WinForm(
            project=project,
            asked=asked,
            initial=_initial(request, "version", "note", "value", "won_on"),
        ),
    )


@require_POST
def board_compact(request, pk):
    """Show the board's cards compact (one or two lines) or in full: a setting of the user's,
    kept with them, so it follows them to every browser."""
    pipeline = get_object_or_404(Pipeline, pk=pk)
    form = CompactForm(request.POST)
    if form.is_valid():
        request.user.board_compact = form.cleaned_data["compact"]
        request.user.save(update_fields=["board_compact"])
    if request.htmx:
        return _refreshed_board(request, pipeline)
    return redirect(safe_next(request, request.POST.get("next", "")) or pipeline)


@require_http_methods(["GET", "POST"])
def project_stop(request, pk):
    project = _visible_project(request, pk)
    if request.method == "GET":
        form = StopForm(initial={"version": project.version})
    else:
        form = StopForm(request.POST)
        # Refused by the form, the page shows it again; the board's dialog (htmx) gets the board.
        if seen_stale(form, project) or form.is_valid() or request.htmx:
            return _lifecycle(
                request,
                project,
                form,
                services.stop_project,
                lambda data: f"{project.title} stopped in {project.stage} ({data['reason']}).",
                passed=["ended_by", "reason"],
            )
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next", ""))
    context = {"project": project, "form": form, "next": next_url}
    return render(request, "pipeline/stop.html", context)


@require_POST
def project_reopen(request, pk):
    project = _visible_project(request, pk)
    return _lifecycle(
        request,
        project,
        LifecycleForm(request.POST),
        services.reopen_project,
        lambda data: f"{project.title} reopened in {project.stage}.",
    )


@require_POST
def project_undo_win(request, pk):
    """A manager or an admin takes back a mistaken win (services.undo_win says who may)."""
    project = _visible_project(request, pk)
    return _lifecycle(
        request,
        project,
        LifecycleForm(request.POST),
        services.undo_win,
        lambda data: f"The win of {project.title} was undone: it is open again.",
    )


def _visible_project(request, pk):
    """A project the user may work on, or 404: another rep's project does not exist for them."""
    return get_object_or_404(
        visible_projects(request.user).select_related("stage", "pipeline", "account"), pk=pk
    )


def _lifecycle(request, project, form, service, success_message, passed=(), ask=None):
    """Run a lifecycle `service` from a valid form (the version seen, the note, the fields
    `passed` by their names, and the fields a stage asked for); report the outcome as a
    message; answer with the refreshed board (htmx from the board) or a redirect (plain
    forms). With `ask` (a form asking for given fields), a change that needs fields the
    project lacks answers with that form instead: in the board's dialog, or as a page."""
    if seen_stale(form, project):
        # Refused as a conflict, not by what the form checks against the project as it is
        # now (a stage it has reached meanwhile is no choice; a stage's fields others filled).
        messages.error(request, StaleProject(project))
    elif form.is_valid():
        data = form.cleaned_data
        arguments = {name: data[name] for name in passed}
        if isinstance(form, EntryFieldsMixin):
            arguments["fields"] = form.entry_fields
        try:
            service(
                project=project,
                user=request.user,
                seen_version=data["version"],
                note=data["note"],
                **arguments,
            )
        except services.MissingEntryFields as error:
            if ask is not None:
                return _ask(request, form.action, project, ask(error.fields), str(error))
            messages.error(request, error)
        except DomainError as error:
            messages.error(request, error)
        else:
            messages.success(request, success_message(form.cleaned_data))
    elif ask is not None and form.waits_for_answers:
        if form.asks_first:
            target_stage, form = form.target_stage, ask(form.asked)
            form.target_stage = target_stage
        missing = services.MissingEntryFields(project, form.target_stage, form.asked)
        return _ask(request, form.action, project, form, str(missing) if form.asked else "")
    else:
        messages.error(request, f"Nothing changed: {form_problems(form)}")
    if request.htmx:
        return _refreshed_board(request, project.pipeline)
    return redirect(safe_next(request, request.POST.get("next", "")) or project)


def _ask(request, action, project, form, message=""):
    """The move or win form for `project`: into the board's dialog (htmx), or as a page."""
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next", ""))
    context = {"project": project, "form": form, "next": next_url, "asking": message}
    if request.htmx:
        response = render(request, f"pipeline/{action}.html#{action}-form", context)
        if request.method == "POST":
            # The board posted the move (a drop) or the dialog: the answer is the dialog.
            response["HX-Retarget"] = "#action-dialog-body"
            response["HX-Reswap"] = "innerHTML"
        return response
    return render(request, f"pipeline/{action}.html", context)


def _initial(request, *names):
    return {name: request.POST.get(name, "") for name in names}


def _refreshed_board(request, pipeline):
    """The board, for htmx, with its own query (filters, search, show) from the page htmx says
    it is on; an address that is not one (a forged header) gives the board unfiltered."""
    try:
        query = QueryDict(urlsplit(request.htmx.current_url or "").query)
    except ValueError:
        query = QueryDict()
    return render(request, "pipeline/board.html#board", _board_context(request, pipeline, query))


def _board_context(request, pipeline, query):
    project_filter = ProjectFilter(
        query, queryset=visible_projects(request.user), user=request.user
    )
    expanded = query.get("show", "")
    # ASCII digits only: "²" passes str.isdigit() but not int().
    expanded_stage = int(expanded) if expanded.isascii() and expanded.isdigit() else None
    columns = board_columns(pipeline, project_filter.qs, expanded_stage=expanded_stage)
    board_url = pipeline.get_absolute_url()
    if query:
        board_url += f"?{query.urlencode()}"
    return {
        "pipeline": pipeline,
        "pipelines": Pipeline.objects.all(),
        "filter": project_filter,
        "board_fields": [
            project_filter.form[name] for name in ProjectFilter.BOARD_FIELDS if name != "q"
        ],
        "search": project_filter.form["q"],
        "filters_on": len(
            [name for name in project_filter.form.changed_data if name not in ("o", "q")]
        ),
        "columns": columns,
        "total": board_total(columns),
        "board_has_cards": any(column.count for column in columns),
        "board_url": board_url,
        "compact": request.user.board_compact,
        "stop_form": StopForm(),
    }


# The project pages (the `projects` URLs): what a project is, shown with where it is in the
# pipeline (its timeline, the move, win and stop forms) and opened on a pipeline, so they
# live here, above both halves of the project.


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
    projects = visible_projects(request.user)
    return ProjectFilter(request.GET, queryset=projects, user=request.user)


@require_GET
def project_list(request):
    project_filter = _filtered(request)
    paginator = IdsFirstPaginator(
        project_filter.qs,
        PROJECTS_PER_PAGE,
        rows=with_list_columns,
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
            "has_any_project": visible_projects(request.user).exists(),
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
                transition = services.open_project(
                    facts=facts, user=request.user, pipeline=data["pipeline"]
                )
            else:
                transition = services.open_project_for_new_account(
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
def project_detail(request, pk):
    try:
        project = project_for_detail(request.user, pk)
    except CustomerProject.DoesNotExist:
        raise Http404("No such project.") from None
    return render(request, "projects/project_detail.html", _detail_context(project))


@require_http_methods(["GET", "POST"])
def project_edit(request, pk):
    project = get_object_or_404(visible_projects(request.user), pk=pk)
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
                raise StaleProject(project)
            if form.is_valid():
                services.update_project(
                    project=project,
                    user=request.user,
                    seen_version=form.cleaned_data["version"],
                    data=form.cleaned_data,
                )
                messages.success(request, "Project saved.")
                return redirect(project)
        except StaleProject as error:
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
    project = get_object_or_404(visible_projects(request.user), pk=pk)
    form = NoteForm(request.POST)
    if not form.is_valid():
        # The page again with what was typed and what is wrong with it (nothing written).
        project = project_for_detail(request.user, pk)
        context = _detail_context(project) | {"note_form": form}
        return render(request, "projects/project_detail.html", context, status=400)
    add_note(project=project, user=request.user, text=form.cleaned_data["text"])
    messages.success(request, "Note added.")
    return redirect(f"{project.get_absolute_url()}#notes")


@require_POST
def next_step(request, pk):
    """Set a project's next step from its page: htmx swaps the block in place; a plain form
    comes back to the page with a message. Refused, the typed step stays in the box."""
    project = get_object_or_404(visible_projects(request.user), pk=pk)
    done = "done" in request.POST
    if done:
        # "Mark done" clears the step (whatever the boxes hold); its history records that.
        form = NextStepForm({"version": request.POST.get("version", ""), "next_step": ""})
    else:
        form = NextStepForm(request.POST)
    refused = None
    if form.is_valid():
        try:
            project = services.set_next_step(
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
            messages.error(
                request, f"The next step was not saved: {refused or form_problems(form)}"
            )
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
