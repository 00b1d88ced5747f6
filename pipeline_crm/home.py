"""The home page. It shows the work of every app (a person's projects that need attention,
their actions from reviews, a manager's reps and teams, the forecast's summary), so it lives
here, above them all: the apps below know nothing of it."""

from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from apps.projects.models import CustomerProject
from apps.projects.selectors import ATTENTION, my_work, work_by_rep, work_by_team, work_total
from apps.users.roles import is_admin, is_manager, managed


@require_GET
def home(request):
    """What to do today. Everyone: their actions from reviews and their own open projects
    that need attention (My work). A manager also each rep of their teams and the teams'
    totals; an admin, each team's and the organisation's. Every number opens its projects."""
    user, now = request.user, timezone.now()
    actions = user.review_actions.filter(done_at__isnull=True).select_related(
        "project", "meeting__team", "meeting__rep"
    )[:20]
    work, totals = my_work(user, now=now)
    reps, teams = managed(user)
    context = {
        "my_actions": actions,
        "work": work,
        "totals": totals,
        "my_teams": user.teams.select_related("manager"),
        "attention": ATTENTION,
    }
    if is_admin(user):
        everyone = work_total(CustomerProject.objects.all(), now=now)
        context["team_rows"] = [*work_by_team(teams, now=now), everyone]
    elif is_manager(user):
        context["rep_rows"] = work_by_rep(reps, now=now)
        context["team_rows"] = work_by_team(teams, now=now)
    return render(request, "home.html", context)
