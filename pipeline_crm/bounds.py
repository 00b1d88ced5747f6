"""Bounds on what a person types, one rule each for every model and form: free text no
longer than anyone writes, and a day in the years a person means. Past a bound is a slip or an
attack (2,000,000 characters of notes, a close date of 0001-01-01), and its message says the
bound.

- Free text: `BoundedTextField` on a model (checked by `full_clean` and by the form field it
  makes), `text_limit_check` for the database's own check of it, and `BoundedCharField` for a
  form's text that is no model field. Long text (notes, a project's qualification,
  descriptions) is at most `LONG_TEXT` characters, about ten pages; a field with a smaller
  limit says so.
- A day: from 1 January 2000 (`EARLIEST_DAY`) to `YEARS_AHEAD` years after today, by
  `TypedDateField` on every form and filter where a day is typed. A form may narrow it further
  (a next step is today or later)."""

from datetime import date

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from django.utils.functional import cached_property

LONG_TEXT = 20_000
EARLIEST_DAY = date(2000, 1, 1)
YEARS_AHEAD = 10
TOO_EARLY = "That is before 2000: choose a date from 1 January 2000 on."
TOO_LATE = f"That is more than {YEARS_AHEAD} years away: choose a date within {YEARS_AHEAD} years."


@deconstructible
class TextLimit(MaxLengthValidator):
    """At most `limit_value` characters, said with both counts: "Keep this to 20,000
    characters (it has 2,000,000)." Its code is max_length, as Django's."""

    message = "Keep this to %(limit)s characters (it has %(length)s)."

    def __call__(self, value):
        length = len(value)
        if length > self.limit_value:
            raise ValidationError(
                self.message,
                code=self.code,
                params={
                    "limit": f"{self.limit_value:,}",
                    "length": f"{length:,}",
                    "limit_value": self.limit_value,
                    "show_value": length,
                    "value": value,
                },
            )


class BoundedCharField(forms.CharField):
    """A form's free text of at most `max_length` characters (LONG_TEXT unless given), the
    limit said in words (TextLimit)."""

    def __init__(self, *, max_length: int = LONG_TEXT, **kwargs):
        super().__init__(max_length=max_length, **kwargs)
        self.validators = [
            TextLimit(max_length) if isinstance(validator, MaxLengthValidator) else validator
            for validator in self.validators
        ]


class BoundedTextField(models.TextField):
    """A model's free text of at most `max_length` characters (LONG_TEXT unless given):
    `full_clean` refuses more (a TextField's max_length alone only reaches its form), and its
    form field says the limit (BoundedCharField). The model's Meta adds `text_limit_check`
    for the database."""

    def __init__(self, *args, max_length: int = LONG_TEXT, **kwargs):
        super().__init__(*args, max_length=max_length, **kwargs)

    @cached_property
    def validators(self):
        return [*self.default_validators, *self._validators, TextLimit(self.max_length)]

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": BoundedCharField, **kwargs})


def text_limit_check(prefix: str, field: str, limit: int = LONG_TEXT) -> models.CheckConstraint:
    """The database's check that `field` holds at most `limit` characters (its
    BoundedTextField's max_length), named `<prefix>_<field>_length`; `prefix` is the
    model's `<app>_<model>`."""
    return models.CheckConstraint(
        condition=LessThanOrEqual(Length(field), limit),
        name=f"{prefix}_{field}_length",
        violation_error_message=f"Keep this to {limit:,} characters.",
    )


def years_from(day: date, years: int) -> date:
    """The same day `years` later (earlier when negative); 29 February becomes the 28th in a
    year without one."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def validate_typed_day(day: date | None) -> None:
    """A day a person may type: from EARLIEST_DAY to YEARS_AHEAD years after today."""
    if day is None:
        return
    if day < EARLIEST_DAY:
        raise ValidationError(TOO_EARLY, code="too_early")
    if day > years_from(timezone.localdate(), YEARS_AHEAD):
        raise ValidationError(TOO_LATE, code="too_late")


# The browser's date picker, for a TypedDateField.
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class TypedDateField(forms.DateField):
    """A form's day, within the days a person may type (validate_typed_day)."""

    default_validators = [validate_typed_day]


class TypedDateFilter(django_filters.DateFilter):
    """A filter's day, within the days a person may type (validate_typed_day)."""

    field_class = TypedDateField
