from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.users.models import Team
from apps.users.roles import Role, role_of, visible_users


@require_GET
def home(request):
    """Where each role starts: a rep on the board, unless a review gave them actions still
    open (then here, with those first); a manager and an admin here, with the teams and
    people whose work they see."""
    # Through the reverse relation: reviews builds on users, not the other way round.
    actions = request.user.review_actions.filter(done_at__isnull=True).select_related(
        "project", "meeting__team", "meeting__rep"
    )[:20]
    if role_of(request.user) == Role.REP and not actions:
        return redirect("pipeline:index")
    teams = Team.objects.filter(manager=request.user).prefetch_related("members")
    return render(
        request,
        "users/home.html",
        {
            "managed_teams": teams,
            "my_teams": request.user.teams.select_related("manager"),
            "visible_user_count": visible_users(request.user).count(),
            "my_actions": actions,
        },
    )


@login_not_required
@never_cache
@require_GET
def health(request):
    """For load balancers: 200 when the app can reach its database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")
