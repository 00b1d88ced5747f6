from urllib.parse import urlsplit

from django.contrib import messages
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.pipeline import services
from apps.pipeline.forms import LifecycleForm, MoveForm, StopForm
from apps.pipeline.models import Pipeline, PipelineKind
from apps.pipeline.selectors import board_columns
from apps.projects.filters import ProjectFilter
from apps.projects.selectors import visible_projects
from pipeline_crm.errors import DomainError
from pipeline_crm.forms import problems as form_problems


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


@require_POST
def project_move(request, pk):
    project = _visible_project(request, pk)
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
        ),
        lambda data: f"{project.title} moved to {data['to_stage']}.",
    )


@require_POST
def project_win(request, pk):
    project = _visible_project(request, pk)
    return _lifecycle(
        request,
        project,
        LifecycleForm(request.POST),
        lambda data: services.win_project(
            project=project, user=request.user, seen_version=data["version"], note=data["note"]
        ),
        lambda data: f"{project.title} won. Congratulations!",
    )


@require_http_methods(["GET", "POST"])
def project_stop(request, pk):
    project = _visible_project(request, pk)
    next_url = request.POST.get("next") or request.GET.get("next", "")
    if request.method == "GET":
        form = StopForm(initial={"version": project.version})
        return render(
            request, "pipeline/stop.html", {"project": project, "form": form, "next": next_url}
        )
    form = StopForm(request.POST)
    if not form.is_valid() and not request.htmx:
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


def _visible_project(request, pk):
    """A project the user may work on, or 404: another rep's project does not exist for them."""
    return get_object_or_404(
        visible_projects(request.user).select_related("stage", "pipeline", "account"), pk=pk
    )


def _lifecycle(request, project, form, action, success_message):
    """Run a lifecycle service from a valid form; report the outcome as a message; answer with
    the refreshed board (htmx from the board) or a redirect (plain forms)."""
    if not form.is_valid():
        problems = form_problems(form)
        messages.error(request, f"Nothing changed: {problems}")
    else:
        try:
            action(form.cleaned_data)
        except services.MissingEntryFields as error:
            messages.error(
                request,
                format_html(
                    '{} <a href="{}">Fill them in</a>.',
                    str(error),
                    f"{project.get_absolute_url()}edit/",
                ),
            )
        except DomainError as error:
            messages.error(request, error)
        else:
            messages.success(request, success_message(form.cleaned_data))
    if request.htmx:
        board_query = QueryDict(urlsplit(request.htmx.current_url or "").query)
        context = _board_context(request, project.pipeline, board_query)
        return render(request, "pipeline/board.html#board", context)
    next_url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        return redirect(next_url)
    return redirect(project)


def _board_context(request, pipeline, query):
    project_filter = ProjectFilter(
        query, queryset=visible_projects(request.user), user=request.user
    )
    expanded = query.get("show", "")
    columns = board_columns(
        pipeline, project_filter.qs, expanded_stage=int(expanded) if expanded.isdigit() else None
    )
    return {
        "pipeline": pipeline,
        "pipelines": Pipeline.objects.all(),
        "filter": project_filter,
        "board_fields": [project_filter.form[name] for name in ProjectFilter.BOARD_FIELDS],
        "columns": columns,
        "board_has_cards": any(column.count for column in columns),
        "stop_form": StopForm(),
    }
