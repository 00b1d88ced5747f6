"""Form helpers shared by the apps."""

from django import forms


def current_state_form(form_class: type[forms.BaseForm], **kwargs) -> forms.BaseForm:
    """`form_class` bound to what a fresh page would show (the instance's stored values, the
    given initial data such as its current version): after a conflict, the user sees the
    current state and can redo their change on it. Bound, so it can carry the message."""
    shown = form_class(**kwargs)
    data = {name: shown[name].value() for name in shown.fields}
    form = form_class(data, **{key: value for key, value in kwargs.items() if key != "initial"})
    form.is_valid()
    return form


def seen_stale(form: forms.BaseForm, instance) -> bool:
    """Whether a bound form was filled in on an older version of `instance` than the one read
    now, by its `version` field alone (validating the form would copy what was typed onto a
    model form's instance). Asked before the form's other errors: those may come from the
    changes made meanwhile. A missing or garbled version is not stale: the form says it is
    incomplete. (The write checks again, under the row's lock.)"""
    if not form.is_bound:
        return False
    try:
        seen = form.fields["version"].clean(form["version"].data)
    except forms.ValidationError:
        return False
    return seen != instance.version


def problems(form: forms.BaseForm) -> str:
    """A form's errors in one line, for a message when the form itself is not shown again."""
    return " ".join(str(error) for errors in form.errors.values() for error in errors)
