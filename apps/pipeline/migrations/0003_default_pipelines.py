"""The two default pipelines of DOMAIN.md with their stages, a starting list of stop reasons,
and a trigger that keeps stage transitions immutable."""

from django.db import migrations

QUALIFICATION_FIELDS = ["present_state", "desired_state", "buying_process"]

# (name, default %, normal days in stage, entry criteria, required fields)
STAGES = {
    "Raw lead": (
        5,
        30,
        "An identified potential customer that could be interested; no activity yet.",
        [],
    ),
    "Marketing": (10, 30, "Awareness and interest have been created.", []),
    "Qualification": (
        20,
        30,
        "We know the customer's present state, desired state and buying process, "
        "and the customer wants to act.",
        QUALIFICATION_FIELDS,
    ),
    "Solution design": (40, 45, "A solution has been presented to the customer.", []),
    "Decision": (60, 30, "The customer has made the soft buy.", []),
    "Negotiation": (80, 30, "Terms and conditions are being agreed.", []),
    "Agreement": (100, None, "The customer accepted and the deal is closed.", []),
}
PIPELINES = [
    ("Customer acquisition", "acquisition", list(STAGES)),
    (
        "Customer development",
        "development",
        ["Qualification", "Solution design", "Decision", "Negotiation", "Agreement"],
    ),
]
DESCRIPTIONS = {
    "acquisition": "For new customers: from the first identified lead to the first agreement.",
    "development": "For accounts that already buy from us (Shopper and up): Raw lead and "
    "Marketing are skipped.",
}
STOP_REASONS = [
    "No real value for the customer",
    "No budget",
    "Lost to a competitor",
    "Customer chose to do nothing",
    "Timing: not now",
    "Requirements we cannot meet",
    "Price",
    "Other",
]

IMMUTABLE_SQL = """
CREATE FUNCTION pipeline_stagetransition_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'stage transitions are history: they are never changed or deleted';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER pipeline_stagetransition_immutable
    BEFORE UPDATE OR DELETE ON pipeline_stagetransition
    FOR EACH ROW EXECUTE FUNCTION pipeline_stagetransition_immutable();
"""
MUTABLE_SQL = """
DROP TRIGGER pipeline_stagetransition_immutable ON pipeline_stagetransition;
DROP FUNCTION pipeline_stagetransition_immutable();
"""


def create_defaults(apps, schema_editor):
    Pipeline = apps.get_model("pipeline", "Pipeline")
    Stage = apps.get_model("pipeline", "Stage")
    StopReason = apps.get_model("pipeline", "StopReason")
    for name, kind, stage_names in PIPELINES:
        pipeline = Pipeline.objects.create(
            name=name, kind=kind, is_default=True, description=DESCRIPTIONS[kind]
        )
        for order, stage_name in enumerate(stage_names, start=1):
            probability, normal_days, criteria, required = STAGES[stage_name]
            Stage.objects.create(
                pipeline=pipeline,
                name=stage_name,
                order=order,
                default_probability=probability,
                normal_days=normal_days,
                entry_criteria=criteria,
                required_fields=required,
                is_won=stage_name == "Agreement",
            )
    for order, reason in enumerate(STOP_REASONS, start=1):
        StopReason.objects.create(name=reason, order=order)


def delete_defaults(apps, schema_editor):
    apps.get_model("pipeline", "Pipeline").objects.filter(
        name__in=[name for name, _, _ in PIPELINES]
    ).delete()
    apps.get_model("pipeline", "StopReason").objects.filter(name__in=STOP_REASONS).delete()


class Migration(migrations.Migration):
    dependencies = [("pipeline", "0002_stagetransition")]

    operations = [
        migrations.RunPython(create_defaults, delete_defaults),
        migrations.RunSQL(IMMUTABLE_SQL, MUTABLE_SQL),
    ]
