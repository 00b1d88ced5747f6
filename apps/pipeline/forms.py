from django import forms

from apps.pipeline.models import EndedBy, Stage, StopReason


class LifecycleForm(forms.Form):
    """What every lifecycle action sends: the version the user saw, and an optional note."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class MoveForm(LifecycleForm):
    to_stage = forms.ModelChoiceField(queryset=Stage.objects.none(), label="Move to")

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        # Any stage of the project's pipeline: a stage of another pipeline is not a choice.
        self.fields["to_stage"].queryset = Stage.objects.filter(
            pipeline=project.pipeline_id, is_won=False
        ).exclude(pk=project.stage_id)


class StopForm(LifecycleForm):
    ended_by = forms.ChoiceField(
        choices=EndedBy.choices, widget=forms.RadioSelect, label="Who ended it"
    )
    reason = forms.ModelChoiceField(
        queryset=StopReason.objects.filter(is_active=True), empty_label="Choose a reason"
    )
