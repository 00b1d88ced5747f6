from django.contrib import messages
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from apps.forecasting.models import PeriodKind
from apps.forecasting.periods import periods_from
from apps.reviews import selectors, services
from apps.reviews.forms import ActionForm, NotesForm, PrepareForm
from apps.reviews.models import ActionItem
from apps.reviews.selectors import BAR_NAMES, QUIET_DAYS, Scope
from apps.users.roles import is_admin, is_manager
from pipeline_crm.errors import DomainError
from pipeline_crm.forms import problems
from pipeline_crm.http import safe_next


def _holds_reviews(user) -> bool:
    return is_manager(user) or is_admin(user)


def _reviewed(request, form: PrepareForm, now, refusal: str = "No such review."):
    """The scope the form asks for (None when it names none) and since when; 404 for a scope
    the user may not review (whatever the URL says)."""
    scope = form.scope()
    if scope is None:
        return None, None
    if not services.may_review(request.user, scope):
        raise Http404(refusal)
    return scope, form.since_moment() or selectors.default_since(scope, now)


@require_GET
def meeting_list(request):
    """Past meetings the user may open, with their notes and actions, and for a manager the
    way to prepare the next."""
    holds_reviews = _holds_reviews(request.user)
    actions = ActionItem.objects.select_related("owner", "project", "done_by")
    if not holds_reviews:
        actions = actions.filter(owner=request.user)  # a rep's part of each meeting
    meetings = selectors.visible_meetings(request.user).prefetch_related(
        Prefetch("actions", queryset=actions)
    )[:50]
    return render(
        request,
        "reviews/meeting_list.html",
        {
            "meetings": meetings,
            "form": PrepareForm(user=request.user) if holds_reviews else None,
            "my_actions": selectors.actions_for(request.user)[:50],
        },
    )


@require_GET
def prepare(request):
    """What changed for a team or a rep since their last meeting: the page a manager opens
    before and in the meeting."""
    if not _holds_reviews(request.user):
        raise Http404("No such page.")
    form = PrepareForm(request.GET or None, user=request.user)
    now = timezone.now()
    scope, since = _reviewed(request, form, now)
    review = None
    if scope is not None:
        valid = form.valid_choices()
        review = selectors.review(
            scope,
            since=since,
            until=now,
            kind=valid.get("period") or PeriodKind.MONTH,
            quiet_days=valid.get("quiet") or QUIET_DAYS,
        )
    return render(
        request,
        "reviews/prepare.html",
        {"form": form, "scope": scope, "review": review, "meeting": None},
    )


@require_GET
def bar(request):
    """The projects behind one bar of a waterfall."""
    if not _holds_reviews(request.user):
        raise Http404("No such page.")
    form = PrepareForm(request.GET or None, user=request.user)
    key = request.GET.get("bar", "")
    now = timezone.now()
    scope, since = _reviewed(request, form, now, "No such bar.")
    if scope is None or key not in BAR_NAMES:
        raise Http404("No such bar.")
    kind = form.valid_choices().get("period") or PeriodKind.MONTH
    position = 1 if request.GET.get("position") == "1" else 0
    period = periods_from(kind, timezone.localdate(now), 2)[position]
    projects, count = selectors.bar_projects(scope.member_ids(), since, now, period, key)
    return render(
        request,
        "reviews/bar.html",
        {
            "scope": scope,
            "label": BAR_NAMES[key],
            "period": period,
            "since": since,
            "projects": projects,
            "count": count,
            "back": f"{reverse('reviews:prepare')}?{request.GET.urlencode()}",
        },
    )


@require_POST
def hold(request):
    """Start the meeting for the prepared review: it keeps the scope and 'since'."""
    scope, since = _reviewed(request, PrepareForm(request.POST, user=request.user), timezone.now())
    if scope is None:
        raise Http404("No such review.")
    try:
        meeting = services.hold_meeting(user=request.user, scope=scope, since=since)
    except DomainError as error:
        messages.error(request, error)
        return redirect(f"{reverse('reviews:prepare')}?{request.POST.urlencode()}")
    return redirect(meeting)


def _meeting_or_404(request, pk):
    return get_object_or_404(selectors.visible_meetings(request.user), pk=pk)


def _actions_seen(user, meeting):
    """The meeting's actions `user` sees: all of them for whoever sees the whole meeting,
    else (a rep it covered) their own."""
    actions = meeting.actions.select_related("owner", "project", "done_by")
    if selectors.sees_all_of(user, meeting):
        return actions
    return actions.filter(owner=user)


def _action_or_404(request, pk):
    """An action the user sees (theirs, or one of a meeting they see whole); 404 for any other,
    as for one that does not exist."""
    action = get_object_or_404(
        selectors.visible_actions(request.user).select_related("meeting"), pk=pk
    )
    if action.owner_id != request.user.pk and not selectors.sees_all_of(
        request.user, action.meeting
    ):
        raise Http404("No such action.")
    return action


@require_GET
def meeting(request, pk):
    """A meeting: the review of what changed up to when it was held, its notes and actions;
    `?present` shows it for a projector, one section at a time."""
    meeting = _meeting_or_404(request, pk)
    may_hold = services.may_hold(request.user, meeting)
    actions = _actions_seen(request.user, meeting)
    if selectors.sees_all_of(request.user, meeting):
        scope = Scope(team=meeting.team, rep=meeting.rep)
    else:  # a rep the meeting covered: their part of it
        scope = Scope(rep=request.user)
    review = selectors.review(scope, since=meeting.since, until=meeting.held_at)
    listed = {entry.project for section in review.sections for entry in section.entries}
    return render(
        request,
        "reviews/meeting.html",
        {
            "meeting": meeting,
            "scope": scope,
            "review": review,
            "may_hold": may_hold,
            "own_part": scope.rep == request.user and meeting.rep_id != request.user.pk,
            "actions": actions,
            "notes_form": NotesForm(initial={"notes": meeting.notes, "version": meeting.version})
            if may_hold
            else None,
            "action_form": ActionForm(meeting=meeting, listed=listed) if may_hold else None,
            "present": "present" in request.GET,
        },
    )


def _attempt(request, meeting, form, write, *, to: str) -> tuple[object, str | None]:
    """Unless the user may not write `to` the meeting (refused before the form is read),
    validate `form`, then `write(cleaned_data)`: what the write returned, and the message to
    show when the form or the rules refused."""
    try:
        services.check_may_hold(request.user, meeting, to=to)
        if not form.is_valid():
            return None, problems(form)
        return write(form.cleaned_data), None
    except DomainError as refused:
        return None, str(refused)


def _answer(request, meeting, *, partial: str, context: dict, error, refused: str, done: str):
    """An htmx request gets the meeting page's `partial` again, with `context`; a plain
    form, a message and the meeting page. The caller builds `context` from what the page
    shows this user: a refused write shows no more than the page would."""
    if request.htmx:
        shown = {"meeting": meeting, "may_hold": services.may_hold(request.user, meeting)}
        return render(request, f"reviews/meeting.html#{partial}", {**shown, **context})
    if error:
        messages.error(request, f"{refused}: {error}")
    else:
        messages.success(request, done)
    return redirect(meeting)


@require_POST
def notes(request, pk):
    meeting = _meeting_or_404(request, pk)
    saved, error = _attempt(
        request,
        meeting,
        NotesForm(request.POST),
        lambda data: services.save_notes(
            user=request.user, meeting=meeting, notes=data["notes"], seen_version=data["version"]
        ),
        to="writes its notes",
    )
    meeting = saved or meeting
    may_hold = services.may_hold(request.user, meeting)
    # Refused, the box keeps what was typed (on the current version, to save it again).
    shown = request.POST.get("notes", "") if error else meeting.notes
    return _answer(
        request,
        meeting,
        partial="notes",
        context={
            "notes_form": NotesForm(initial={"notes": shown, "version": meeting.version})
            if may_hold
            else None,
            "notes_error": error,
            "notes_saved": not error,
        },
        error=error,
        refused="The notes were not saved",
        done="Notes saved.",
    )


@require_POST
def action_add(request, pk):
    meeting = _meeting_or_404(request, pk)
    _, error = _attempt(
        request,
        meeting,
        ActionForm(request.POST, meeting=meeting),
        lambda data: services.add_action(user=request.user, meeting=meeting, **data),
        to="adds its actions",
    )
    return _answer(
        request,
        meeting,
        partial="actions",
        context={"actions": _actions_seen(request.user, meeting), "action_error": error},
        error=error,
        refused="No action was added",
        done="Action added.",
    )


@require_POST
def action_done(request, pk):
    action = _action_or_404(request, pk)
    try:
        action = services.mark_done(
            user=request.user, action=action, done=request.POST.get("done", "1") != "0"
        )
    except DomainError as error:
        messages.error(request, error)
    else:
        messages.success(request, f"“{action}” marked {'done' if action.is_done else 'not done'}.")
    return redirect(safe_next(request, request.POST.get("next", "")) or "reviews:list")
