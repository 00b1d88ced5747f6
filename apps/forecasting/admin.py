from decimal import Decimal
from functools import cached_property

from django.contrib import admin
from django.template.defaultfilters import floatformat
from django.utils.html import format_html

from apps.forecasting.models import Target
from apps.forecasting.selectors.win_rates import BLEND_K, WIN_RATE_MONTHS, WinRate, stage_win_rates
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
            counted = (
                f"no projects reached it and closed this month or the {WIN_RATE_MONTHS} before it"
            )
        else:
            counted = f"{rate.won} of {rate.reached} won: raw {_percent(rate.raw)}"
        blended = format_html(
            '{}<br><span title="(won + {k} × default) ÷ (reached + {k})">blended {}</span>',
            counted,
            _percent(rate.blended),
            k=BLEND_K,
        )
        if rate.is_thin:
            return format_html("{}<br><strong>too little history</strong>", blended)
        proposed = rate.proposed_default
        if proposed == stage.default_probability:
            return blended
        # Fills this row's default % in the form (static/js/admin_stages.js), which the
        # admin then saves with the rest: nothing is posted, so no edit is lost. Hidden
        # until the script shows it; without it the raw rate is there to type.
        return format_html(
            '{}<br><button type="button" class="button use-rate" hidden data-use-rate="{}" '
            'aria-label="Use the raw rate, {} %, as the default of {}">'
            "Use the raw {} % as the default</button>"
            '<span class="use-rate-done" role="status"></span>',
            blended,
            proposed,
            proposed,
            stage.name,
            proposed,
        )

    class Media:
        js = ["js/admin_stages.js"]


admin.site.unregister(Pipeline)


@admin.register(Pipeline)
class PipelineWithWinRatesAdmin(PipelineAdmin):
    inlines = [StageWithWinRateInline]
    save_on_top = True
