from apps.users.roles import role_of


def role(request):
    """The signed-in user's role, for the layout (name, role, admin link)."""
    user_role = role_of(request.user) if hasattr(request, "user") else None
    return {"user_role": user_role}
