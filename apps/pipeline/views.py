from urllib.parse import urlsplit

from django.contrib import messages
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.pipeline import services
from apps.pipeline.forms import CompactForm, LifecycleForm, MoveForm, StopForm, WinForm
from apps.pipeline.models import Pipeline, PipelineKind
from apps.pipeline.selectors import board_columns, board_total
from apps.projects.filters import ProjectFilter
from apps.projects.selectors import visible_projects
from apps.projects.services import StaleProject
from pipeline_crm.errors import DomainError
from pipeline_crm.forms import problems as form_problems
from pipeline_crm.forms import seen_stale
from pipeline_crm.http import safe_next


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
    context = _board_context(request, pipeline, request.GET)
    if request.htmx:
        return render(request, "pipeline/board.html#board", context)
    return render(request, "pipeline/board.html", context)


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
        lambda data: services.move_project(
            project=project,
            to_stage=data["to_stage"],
            user=request.user,
            seen_version=data["version"],
            note=data["note"],
            fields=form.entry_fields,
        ),
        lambda data: f"{project.title} moved to {data['to_stage']}.",
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
        form = WinForm(project=project, initial=_win_initial(project))
        return _ask(request, "win", project, form)
    form = WinForm(request.POST, project=project)
    return _lifecycle(
        request,
        project,
        form,
        lambda data: services.win_project(
            project=project,
            user=request.user,
            seen_version=data["version"],
            note=data["note"],
            value=data["value"],
            won_on=data["won_on"],
            fields=form.entry_fields,
        ),
        lambda data: f"{project.title} won. Congratulations!",
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
        board_query = _board_query(request)
        return render(
            request, "pipeline/board.html#board", _board_context(request, pipeline, board_query)
        )
    next_url = safe_next(request, request.POST.get("next", ""))
    if next_url:
        return redirect(next_url)
    return redirect(pipeline)


@require_http_methods(["GET", "POST"])
def project_stop(request, pk):
    project = _visible_project(request, pk)
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next", ""))
    if request.method == "GET":
        form = StopForm(initial={"version": project.version})
        return render(
            request, "pipeline/stop.html", {"project": project, "form": form, "next": next_url}
        )
    form = StopForm(request.POST)
    if not seen_stale(form, project) and not form.is_valid() and not request.htmx:
        return render(
            request, "pipeline/stop.html", {"project": project, "form": form, "next": next_url}
        )
    return _lifecycle(
        request,
        project,
        form,
        lambda data: services.stop_project(
            project=project,
            user=request.user,
            seen_version=data["version"],
            ended_by=data["ended_by"],
            reason=data["reason"],
            note=data["note"],
        ),
        lambda data: f"{project.title} stopped in {project.stage} ({data['reason']}).",
    )


@require_POST
def project_reopen(request, pk):
    project = _visible_project(request, pk)
    return _lifecycle(
        request,
        project,
        LifecycleForm(request.POST),
        lambda data: services.reopen_project(
            project=project, user=request.user, seen_version=data["version"], note=data["note"]
        ),
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
        lambda data: services.undo_win(
            project=project, user=request.user, seen_version=data["version"], note=data["note"]
        ),
        lambda data: f"The win of {project.title} was undone: it is open again.",
    )


def _visible_project(request, pk):
    """A project the user may work on, or 404: another rep's project does not exist for them."""
    return get_object_or_404(
        visible_projects(request.user).select_related("stage", "pipeline", "account"), pk=pk
    )


def _lifecycle(request, project, form, action, success_message, ask=None):
    """Run a lifecycle service from a valid form; report the outcome as a message; answer with
    the refreshed board (htmx from the board) or a redirect (plain forms). With `ask` (a
    form asking for given fields), a change that needs fields the project lacks answers with
    that form instead: in the board's dialog, or as a page of its own."""
    if seen_stale(form, project):
        # Refused as a conflict, not by what the form checks against the project as it is
        # now (a stage it has reached meanwhile is no choice; a stage's fields others filled).
        messages.error(request, StaleProject(project))
    elif form.is_valid():
        try:
            action(form.cleaned_data)
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
        board_query = _board_query(request)
        context = _board_context(request, project.pipeline, board_query)
        return render(request, "pipeline/board.html#board", context)
    next_url = safe_next(request, request.POST.get("next", ""))
    if next_url:
        return redirect(next_url)
    return redirect(project)


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


def _win_initial(project):
    return {
        "version": project.version,
        "value": project.value,
        "won_on": timezone.localdate(),
    }


def _board_query(request) -> QueryDict:
    """The board's own query (filters, search, show) from the page htmx says it is on; an
    address that is not one (a forged header) gives the board unfiltered."""
    try:
        return QueryDict(urlsplit(request.htmx.current_url or "").query)
    except ValueError:
        return QueryDict()


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
