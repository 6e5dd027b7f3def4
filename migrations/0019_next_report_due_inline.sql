-- The next report due is worked out inline.
--
-- task_signals called period_due with an argument holding a subquery (the
-- period after the due one when that one was reported, else the due one),
-- and period_due uses its start three times: PostgreSQL does not inline a
-- function whose argument with a subquery it would copy, so each call ran
-- as a function of its own, planned anew (0.15 ms, in every render of a
-- task's members: each progress POST, each stale read, each rollup of a
-- stale descendant). The choice is now made around two calls, each given
-- a column of the lateral `c` (kept a subquery of its own by OFFSET 0, so
-- that its columns stay plain references).
CREATE OR REPLACE FUNCTION task_signals(r task, p plan, day date)
RETURNS TABLE (open boolean, expected_progress integer, overdue boolean, behind boolean, missing_period date,
               urged_by date, rejected_on date, due_soon boolean, next_report_due date, warning text)
LANGUAGE sql STABLE AS $$
    SELECT s.*, CASE WHEN s.overdue THEN 'red'
                     WHEN s.behind OR s.missing_period IS NOT NULL OR s.urged_by IS NOT NULL
                          OR s.rejected_on IS NOT NULL THEN 'yellow'
                     WHEN s.due_soon THEN 'blue' ELSE 'none' END
    FROM (SELECT o.open, x.expected AS expected_progress, o.open AND r.due_on < day AS overdue,
                 o.open AND r.progress < x.expected - p.lag_points AS behind,
                 CASE WHEN o.open AND c.watched AND c.assigned < c.current
                           AND NOT EXISTS (SELECT 1 FROM progress_log l WHERE l.task_id = r.id
                                           AND l.unit_id = r.lead_unit_id AND l.reported_on BETWEEN c.last AND c.current - 1
                                           AND l.created_at::date <= day)
                      THEN c.last END AS missing_period,
                 CASE WHEN o.open THEN
                     (SELECT min(u.reply_by) FROM urge u
                      WHERE u.task_id = r.id AND u.reply_by < day AND u.created_at::date <= day
                        AND (u.replied_at IS NULL OR u.replied_at::date > day)) END AS urged_by,
                 CASE WHEN o.open THEN
                     (SELECT q.decided_at::date
                      FROM (SELECT cr.state, cr.decided_at FROM closure_request cr
                            WHERE cr.task_id = r.id AND cr.created_at::date <= day ORDER BY cr.id DESC LIMIT 1) q
                      WHERE q.state = 'rejected' AND q.decided_at::date <= day
                        AND NOT EXISTS (SELECT 1 FROM progress_log l WHERE l.task_id = r.id
                                        AND l.created_at > q.decided_at AND l.created_at::date <= day)) END
                     AS rejected_on,
                 o.open AND r.due_on BETWEEN day AND day + p.near_due_days AS due_soon,
                 CASE WHEN NOT (o.open AND c.watched) THEN NULL
                      WHEN EXISTS (SELECT 1 FROM progress_log l WHERE l.task_id = r.id
                                   AND l.unit_id = r.lead_unit_id AND l.reported_on >= c.due_period
                                   AND l.reported_on <= period_end(c.cadence, c.due_period)
                                   AND l.created_at::date <= day)
                      THEN period_due(c.cadence, p.report_day, c.next_period)
                      ELSE period_due(c.cadence, p.report_day, c.due_period) END AS next_report_due
          FROM (SELECT r.status IN ('not_started', 'in_progress') OR r.closed_on > day AS open) o,
               LATERAL (SELECT CASE WHEN r.due_on IS NULL OR NOT o.open THEN NULL
                                    WHEN day >= r.due_on THEN 100 WHEN day <= t.start THEN 0
                                    ELSE round(100.0 * (day - t.start) / (r.due_on - t.start))::integer END AS expected
                        FROM (SELECT coalesce(p.starts_on, r.created_at::date) AS start) t) x,
               LATERAL (SELECT k.cadence, k.cadence <> 'none' AND r.lead_unit_id IS NOT NULL AS watched,
                               period_start(k.cadence, day) AS current,
                               period_start(k.cadence, period_start(k.cadence, day) - 1) AS last,
                               task_assigned_on(p, r) AS assigned,
                               greatest(period_start(k.cadence, day),
                                        period_start(k.cadence, task_assigned_on(p, r))) AS due_period,
                               (greatest(period_start(k.cadence, day), period_start(k.cadence, task_assigned_on(p, r)))
                                + period_length(k.cadence))::date AS next_period
                        FROM (SELECT coalesce(r.report_cadence, p.report_cadence) AS cadence) k OFFSET 0) c
          OFFSET 0) s
$$;
