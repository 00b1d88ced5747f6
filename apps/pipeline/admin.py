from itertools import pairwise

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from apps.pipeline.models import (
    Pipeline,
    ProjectField,
    ProjectState,
    Stage,
    StageTransition,
    StopReason,
)
from apps.pipeline.services import place_stages, record_stage_changes
from pipeline_crm.admin import ReadOnlyAdmin


class StageForm(forms.ModelForm):
    required_fields = forms.MultipleChoiceField(
        choices=ProjectField.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Fields that must be filled before a project enters this stage.",
    )

    class Meta:
        model = Stage
        fields = [
            "name",
            "order",
            "default_probability",
            "normal_days",
            "is_won",
            "entry_criteria",
            "required_fields",
        ]
        # Sized so the stages' table fits a 1280 px window beside the admin's navigation.
        widgets = {
            "name": forms.TextInput(attrs={"size": 14}),
            "order": forms.NumberInput(attrs={"class": "stage-number"}),
            "default_probability": forms.NumberInput(attrs={"class": "stage-number"}),
            "normal_days": forms.NumberInput(attrs={"class": "stage-number"}),
            "entry_criteria": forms.Textarea(attrs={"rows": 3, "cols": 24}),
        }
        help_texts = {
            "order": "Position in the pipeline. To insert a stage, give it the order of the "
            "stage it goes before: that stage and the later ones move one place on save.",
        }

    def _get_validation_exclusions(self):
        # Two stages may share an order here: the save places them (`place_stages`), so the
        # unique (pipeline, order) constraint is not checked stage by stage, nor across the
        # rows (the formset's check reads the same exclusions).
        exclusions = super()._get_validation_exclusions()
        exclusions.add("order")
        return exclusions


class StageFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        kept = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        if not kept:
            return
        won = [stage for stage in kept if stage.get("is_won")]
        if len(won) != 1:
            raise ValidationError(
                "A pipeline has exactly one won stage (its last, e.g. Agreement)."
            )
        if won[0]["order"] != max(stage["order"] for stage in kept):
            raise ValidationError("The won stage must be the last stage (the highest order).")
        # Two stages with one order are placed on save (`place_stages`); the won stage
        # stays last: a stage given its order goes before it.


class StageInline(admin.TabularInline):
    model = Stage
    form = StageForm
    formset = StageFormSet
    extra = 0
    ordering = ["order"]

    class Media:
        css = {"all": ["css/admin_stages.css"]}


def falling_defaults(stages: list[Stage]) -> list[tuple[Stage, Stage]]:
    """Each pair of consecutive stages (in order) where the later one's default % is lower:
    a project further along would count as less likely to be won."""
    return [
        (before, after)
        for before, after in pairwise(sorted(stages, key=lambda stage: stage.order))
        if after.default_probability < before.default_probability
    ]


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "is_default"]
    list_filter = ["kind"]
    inlines = [StageInline]

    def save_formset(self, request, form, formset, change):
        """Stages sharing an order are placed (a stage inserted before another moves it and
        the later ones on: `place_stages`). A re-weighted or reordered stage changes what
        its open projects report from now on: the lifecycle records it in their ledger (the
        past keeps the old figures, and the orders the history recorded)."""
        kept = [
            stage_form
            for stage_form in formset.forms
            if stage_form.has_changed() or stage_form.instance.pk
            if not stage_form.cleaned_data.get("DELETE")
        ]
        changed = [
            stage_form.instance
            for stage_form in kept
            if stage_form.instance.pk
            and {"default_probability", "order"} & set(stage_form.changed_data)
        ]
        new = [stage_form for stage_form in kept if not stage_form.instance.pk]
        reordered = [
            stage_form.instance for stage_form in kept if "order" in stage_form.changed_data
        ]
        super().save_formset(request, form, formset, change)
        placed = [stage.pk for stage in reordered] + [stage_form.instance.pk for stage_form in new]
        moved = place_stages(pipeline=form.instance, placed=placed)
        if moved:
            messages.info(
                request,
                "Moved one place on to make room: "
                + ", ".join(f"{stage} (now {stage.order})" for stage in moved)
                + ".",
            )
        changed += [stage for stage in moved if stage not in changed]
        if changed:
            record_stage_changes(stages=changed, user=request.user)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        for before, after in falling_defaults(list(form.instance.stages.all())):
            messages.warning(
                request,
                f"The default % falls along the pipeline: {before} {before.default_probability} "
                f"% → {after} {after.default_probability} %. A project further along should "
                "not count as less likely to be won; check the defaults.",
            )


@admin.register(StopReason)
class StopReasonAdmin(admin.ModelAdmin):
    list_display = ["name", "order", "is_active"]
    list_editable = ["order", "is_active"]


@admin.register(StageTransition)
class StageTransitionAdmin(ReadOnlyAdmin):
    """History, for reading: nobody adds, changes or deletes a transition."""

    list_display = ["created_at", "project", "from_stage", "to_stage", "to_status", "user"]
    list_filter = ["to_status", "to_stage__pipeline"]
    list_select_related = ["project", "from_stage", "to_stage", "user"]
    date_hierarchy = "created_at"


@admin.register(ProjectState)
class ProjectStateAdmin(ReadOnlyAdmin):
    """The state ledger, for reading: only the lifecycle services write it."""

    list_display = ["project", "period", "stage", "status", "value", "effective_probability"]
    list_filter = ["status", "pipeline"]
    list_select_related = ["project", "stage"]
    search_fields = ["project__title"]
