"""Complete the transitions with what reports need, build the project state ledger from the
transitions and the projects' simple-history rows, and let the database guard the ledger.

The ledger gets one period per transition and one per edit of a tracked fact (value, close
date, individual %, owner) found in that history; a project whose last period still differs
from its row gets one more, begun at its last update. What was never recorded is rebuilt as
well as it can be: a stage's default % at the time is the effective % of a transition into
it without an individual % (carried through the edits that follow in that stage), else
today's; the stages' orders are today's; owner and close date are the history's as it stood
then; the % a transition's project carried before it is the period it ended.
"""

from django.db import migrations

COMPLETE_TRANSITIONS = """
ALTER TABLE pipeline_stagetransition DISABLE TRIGGER pipeline_stagetransition_immutable;

WITH ordered AS (
    SELECT t.id, t.project_id, t.created_at,
           max(CASE WHEN t.from_stage_id IS DISTINCT FROM t.to_stage_id THEN t.created_at END)
               OVER (PARTITION BY t.project_id ORDER BY t.created_at, t.id
                     ROWS UNBOUNDED PRECEDING) AS entered_at
    FROM pipeline_stagetransition t
), completed AS (
    SELECT o.*, lag(o.entered_at) OVER (PARTITION BY o.project_id ORDER BY o.created_at, o.id)
                    AS previous_stage_entered_at
    FROM ordered o
), facts AS (
    SELECT c.*, COALESCE(h.owner_id, p.owner_id) AS owner_id,
           CASE WHEN h.id IS NULL THEN p.expected_close_date ELSE h.expected_close_date END
               AS expected_close_date
    FROM completed c
    JOIN projects_customerproject p ON p.id = c.project_id
    LEFT JOIN LATERAL (
        -- The project as its history stood at the transition; for the opening (which
        -- history records a moment after the transition) its first row.
        SELECT h.id, h.owner_id, h.expected_close_date
        FROM projects_historicalcustomerproject h
        WHERE h.id = c.project_id
        ORDER BY (h.history_date <= c.created_at) DESC,
                 CASE WHEN h.history_date <= c.created_at THEN h.history_id END DESC,
                 h.history_id
        LIMIT 1
    ) h ON true
)
UPDATE pipeline_stagetransition t SET
    to_stage_order = (SELECT s."order" FROM pipeline_stage s WHERE s.id = t.to_stage_id),
    from_stage_order = (SELECT s."order" FROM pipeline_stage s WHERE s.id = t.from_stage_id),
    previous_stage_entered_at =
        CASE WHEN t.from_status = '' THEN NULL ELSE f.previous_stage_entered_at END,
    owner_id = f.owner_id,
    expected_close_date = f.expected_close_date
FROM facts f
WHERE f.id = t.id;
"""

BUILD_LEDGER = """
WITH history AS (
    SELECT h.*,
           lag(ROW(h.stage_id, h.status)) OVER w AS previous_place,
           lag(ROW(h.value, h.expected_close_date, h.individual_probability, h.owner_id))
               OVER w AS previous_facts
    FROM projects_historicalcustomerproject h
    WINDOW w AS (PARTITION BY h.id ORDER BY h.history_id)
), moments AS (
    SELECT t.project_id, t.created_at AS at, t.id AS transition_id, t.user_id AS changed_by_id,
           t.to_stage_id AS stage_id, t.to_status AS status, t.value,
           t.individual_probability, t.owner_id, t.expected_close_date,
           -- An open project without its own % carried the stage's default of the time.
           CASE WHEN t.to_status = 'open' AND t.individual_probability IS NULL
                THEN t.effective_probability END AS known_default
    FROM pipeline_stagetransition t
    UNION ALL
    -- Edits: a history row that changed a tracked fact and neither stage nor status.
    SELECT h.id, h.history_date, NULL, h.history_user_id, h.stage_id, h.status, h.value,
           h.individual_probability, h.owner_id, h.expected_close_date, NULL
    FROM history h
    WHERE h.history_type = '~'
      AND h.previous_place = ROW(h.stage_id, h.status)
      AND h.previous_facts IS DISTINCT FROM
          ROW(h.value, h.expected_close_date, h.individual_probability, h.owner_id)
), distinct_moments AS (
    SELECT DISTINCT ON (m.project_id, m.at) m.*
    FROM moments m
    ORDER BY m.project_id, m.at, m.transition_id IS NULL, m.transition_id DESC
), grouped AS (
    -- A run of moments in one stage shares the default last seen in it.
    SELECT m.*,
           sum(CASE WHEN m.known_default IS NOT NULL
                     OR m.stage_id IS DISTINCT FROM previous_stage_id THEN 1 ELSE 0 END)
               OVER (PARTITION BY m.project_id ORDER BY m.at) AS run
    FROM (SELECT d.*, lag(d.stage_id) OVER (PARTITION BY d.project_id ORDER BY d.at)
                          AS previous_stage_id
          FROM distinct_moments d) m
)
INSERT INTO pipeline_projectstate
    (project_id, period, owner_id, pipeline_id, stage_id, stage_order,
     stage_default_probability, status, value, expected_close_date, individual_probability,
     changed_by_id, transition_id)
SELECT m.project_id,
       tstzrange(m.at, lead(m.at) OVER (PARTITION BY m.project_id ORDER BY m.at), '[)'),
       m.owner_id, s.pipeline_id, m.stage_id, s."order",
       -- Where no transition told the default of the time, today's is the best known.
       COALESCE(max(m.known_default) OVER (PARTITION BY m.project_id, m.run),
                s.default_probability),
       m.status, m.value, m.expected_close_date, m.individual_probability, m.changed_by_id,
       m.transition_id
FROM grouped m
JOIN pipeline_stage s ON s.id = m.stage_id;

-- A project with no transition at all: one period from its creation.
INSERT INTO pipeline_projectstate
    (project_id, period, owner_id, pipeline_id, stage_id, stage_order,
     stage_default_probability, status, value, expected_close_date, individual_probability,
     changed_by_id, transition_id)
SELECT p.id, tstzrange(p.created_at, NULL, '[)'), p.owner_id, p.pipeline_id, p.stage_id,
       s."order", s.default_probability, p.status, p.value, p.expected_close_date,
       p.individual_probability, NULL, NULL
FROM projects_customerproject p
JOIN pipeline_stage s ON s.id = p.stage_id
WHERE NOT EXISTS (SELECT 1 FROM pipeline_projectstate x WHERE x.project_id = p.id);

-- A project whose current period differs from its row (a change history did not show):
-- close that period at the project's last update, and begin one with the row's facts, so
-- the current period is the project.
UPDATE pipeline_projectstate x
SET period = tstzrange(lower(x.period),
                       greatest(p.updated_at, lower(x.period) + interval '1 microsecond'), '[)')
FROM projects_customerproject p
WHERE x.project_id = p.id AND upper_inf(x.period)
  AND ROW(p.owner_id, p.stage_id, p.status, p.value, p.expected_close_date,
          p.individual_probability)
      IS DISTINCT FROM
      ROW(x.owner_id, x.stage_id, x.status, x.value, x.expected_close_date,
          x.individual_probability);

INSERT INTO pipeline_projectstate
    (project_id, period, owner_id, pipeline_id, stage_id, stage_order,
     stage_default_probability, status, value, expected_close_date, individual_probability,
     changed_by_id, transition_id)
SELECT p.id,
       tstzrange((SELECT max(upper(x.period)) FROM pipeline_projectstate x
                  WHERE x.project_id = p.id), NULL, '[)'),
       p.owner_id, p.pipeline_id, p.stage_id, s."order", s.default_probability, p.status,
       p.value, p.expected_close_date, p.individual_probability, NULL, NULL
FROM projects_customerproject p
JOIN pipeline_stage s ON s.id = p.stage_id
WHERE NOT EXISTS (SELECT 1 FROM pipeline_projectstate x
                  WHERE x.project_id = p.id AND upper_inf(x.period));
"""

COMPLETE_FROM_LEDGER = """
-- What the ledger knows of each transition's moment: the stage's default then, and the
-- effective % of the period it ended (edits between transitions included).
UPDATE pipeline_stagetransition t SET
    stage_default_probability = COALESCE(
        (SELECT x.stage_default_probability FROM pipeline_projectstate x
         WHERE x.transition_id = t.id),
        (SELECT s.default_probability FROM pipeline_stage s WHERE s.id = t.to_stage_id)),
    prior_probability = CASE WHEN t.from_status = '' THEN NULL ELSE
        (SELECT x.effective_probability FROM pipeline_projectstate x
         WHERE x.project_id = t.project_id AND upper(x.period) = t.created_at) END;

-- Check the new foreign keys now: a table with pending trigger events cannot be altered.
SET CONSTRAINTS ALL IMMEDIATE;
ALTER TABLE pipeline_stagetransition ENABLE TRIGGER pipeline_stagetransition_immutable;
SET CONSTRAINTS ALL DEFERRED;
"""

GUARD_LEDGER = """
CREATE FUNCTION pipeline_projectstate_history() RETURNS trigger AS $$
BEGIN
    -- The one change allowed: closing the current period, later than it began.
    IF TG_OP = 'UPDATE'
       AND upper_inf(OLD.period) AND NOT upper_inf(NEW.period)
       AND lower(NEW.period) = lower(OLD.period)
       AND ROW(NEW.id, NEW.project_id, NEW.owner_id, NEW.pipeline_id, NEW.stage_id,
               NEW.stage_order, NEW.stage_default_probability, NEW.status, NEW.value,
               NEW.expected_close_date, NEW.individual_probability, NEW.changed_by_id,
               NEW.transition_id)
           IS NOT DISTINCT FROM
           ROW(OLD.id, OLD.project_id, OLD.owner_id, OLD.pipeline_id, OLD.stage_id,
               OLD.stage_order, OLD.stage_default_probability, OLD.status, OLD.value,
               OLD.expected_close_date, OLD.individual_probability, OLD.changed_by_id,
               OLD.transition_id)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'project states are history: only the current period is ever closed, '
                    'and nothing is changed or deleted';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER pipeline_projectstate_history
    BEFORE UPDATE OR DELETE ON pipeline_projectstate
    FOR EACH ROW EXECUTE FUNCTION pipeline_projectstate_history();

-- At commit, every project that was created or had its period closed has a current period
-- (the partial unique index allows at most one).
CREATE FUNCTION pipeline_projectstate_current_exists() RETURNS trigger AS $$
DECLARE
    project bigint;
BEGIN
    IF TG_TABLE_NAME = 'projects_customerproject' THEN
        project := NEW.id;
    ELSE
        project := NEW.project_id;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pipeline_projectstate
                   WHERE project_id = project AND upper_inf(period)) THEN
        RAISE EXCEPTION 'project % has no current period in the state ledger', project;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE CONSTRAINT TRIGGER pipeline_projectstate_current_exists
    AFTER INSERT OR UPDATE ON pipeline_projectstate
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION pipeline_projectstate_current_exists();
CREATE CONSTRAINT TRIGGER projects_customerproject_current_state_exists
    AFTER INSERT ON projects_customerproject
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION pipeline_projectstate_current_exists();
"""

UNGUARD_LEDGER = """
DROP TRIGGER projects_customerproject_current_state_exists ON projects_customerproject;
DROP TRIGGER pipeline_projectstate_current_exists ON pipeline_projectstate;
DROP FUNCTION pipeline_projectstate_current_exists();
DROP TRIGGER pipeline_projectstate_history ON pipeline_projectstate;
DROP FUNCTION pipeline_projectstate_history();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("pipeline", "0004_project_state_ledger"),
        ("projects", "0002_role_permissions"),
    ]

    operations = [
        migrations.RunSQL(COMPLETE_TRANSITIONS, migrations.RunSQL.noop),
        migrations.RunSQL(BUILD_LEDGER, "TRUNCATE pipeline_projectstate"),
        migrations.RunSQL(COMPLETE_FROM_LEDGER, migrations.RunSQL.noop),
        migrations.RunSQL(GUARD_LEDGER, UNGUARD_LEDGER),
    ]
