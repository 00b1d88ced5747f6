from decimal import Decimal
from functools import cached_property

from django.contrib import admin
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils.html import format_html

from apps.forecasting.models import Target
from apps.forecasting.selectors import WIN_RATE_MONTHS, WinRate, stage_win_rates
from apps.pipeline.admin import PipelineAdmin, StageInline
from apps.pipeline.models import Pipeline, Stage


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    list_display = ["starts", "kind", "team", "rep", "amount", "set_by", "updated_at"]
    list_filter = ["kind", "team"]
    list_select_related = ["team", "rep", "set_by"]
    autocomplete_fields = ["rep"]
    readonly_fields = ["set_by", "updated_at"]
    date_hierarchy = "starts"

    def save_model(self, request, obj, form, change):
        obj.set_by = request.user
        super().save_model(request, obj, form, change)


# The pipeline's page in the admin shows each stage's historical win rate beside its default %.
# It lives here, not in apps/pipeline: forecasting depends on the pipeline, never the reverse.


def _percent(value: Decimal) -> str:
    return f"{floatformat(value, -1)} %"


class StageWithWinRateInline(StageInline):
    readonly_fields = ["historical_win_rate"]

    @cached_property
    def win_rates(self) -> dict[int, WinRate]:
        # The admin makes its inlines anew for each request, so this is computed once per
        # page (one query for all stages), never per stage row.
        return stage_win_rates()

    @admin.display(description="Historical win rate")
    def historical_win_rate(self, stage: Stage) -> str:
        rate = self.win_rates.get(stage.pk)
        # The blank row for a new stage; and the won stage, won by every project that reaches it.
        if rate is None or stage.is_won:
            return "—"
        if rate.raw is None:
            counted = f"no projects reached it and closed in the last {WIN_RATE_MONTHS} months"
        else:
            counted = f"{rate.won} of {rate.reached} won: {_percent(rate.raw)}"
        if rate.is_thin:
            return format_html(
                "{}<br>blended {}<br><strong>too little history</strong>",
                counted,
                _percent(rate.blended),
            )
        proposed = rate.proposed_default
        if proposed == stage.default_probability:
            return format_html("{}<br>blended {}", counted, _percent(rate.blended))
        # A nested <form> is impossible inside the change form, so the button submits the
        # change form (its CSRF token included) to the one-click URL instead; that view reads
        # none of the other fields, and the pipeline form is not saved.
        return format_html(
            '{}<br>blended {}<br><button type="submit" class="button" formmethod="post" '
            'formaction="{}" aria-label="Use {} % as the default of {}">'
            "Use {} % as the default</button>",
            counted,
            _percent(rate.blended),
            reverse("forecasting:use_historical", args=[stage.pk]),
            proposed,
            stage.name,
            proposed,
        )


admin.site.unregister(Pipeline)


@admin.register(Pipeline)
class PipelineWithWinRatesAdmin(PipelineAdmin):
    inlines = [StageWithWinRateInline]
    # Enter in a field submits the change form with its first submit button. The stage rows'
    # one-click buttons come before the Save row at the bottom; a Save row on top keeps Save
    # the first, so Enter saves, as on every other admin page.
    save_on_top = True
