from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from apps.pipeline.models import (
    Pipeline,
    ProjectField,
    ProjectState,
    Stage,
    StageTransition,
    StopReason,
)
from apps.pipeline.services import record_stage_changes
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
        widgets = {"entry_criteria": forms.Textarea(attrs={"rows": 2, "cols": 40})}


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
        # Two stages with one order: Django's own unique check for the formset reports it.


class StageInline(admin.TabularInline):
    model = Stage
    form = StageForm
    formset = StageFormSet
    extra = 0
    ordering = ["order"]


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "is_default"]
    list_filter = ["kind"]
    inlines = [StageInline]

    def save_formset(self, request, form, formset, change):
        """A re-weighted or reordered stage changes what its open projects report from now
        on: the lifecycle records it in their ledger (the past keeps the old figures)."""
        changed = [
            stage_form.instance
            for stage_form in formset.forms
            if stage_form.instance.pk
            and {"default_probability", "order"} & set(stage_form.changed_data)
            and not stage_form.cleaned_data.get("DELETE")
        ]
        super().save_formset(request, form, formset, change)
        if changed:
            record_stage_changes(stages=changed, user=request.user)


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
