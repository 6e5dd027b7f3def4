-- SAMPLE DATA. A made-up history for the seed plan (青西新办发〔2018〕21号,
-- seed/plan-2018.txt), so that a new database shows the supervision loop
-- at work: none of it happened. scripts/run applies it right after
-- importing the seed plan:
--
--   psql "$DUBAN_DATABASE_URL" -v tz="$DUBAN_TIMEZONE" -f seed/sample-history.sql
--
-- The history runs from the plan's start (2018-12-04) to today:
--   - most units sign for their tasks (签收) within ten days of the start;
--     the two leading-group pseudo-units, 区史志办, 区人大 and 区政协 never do;
--   - the lead unit of every assigned task reports each month (on the 15th
--     to 28th, on time), a few late (the 29th to the month's end) and a
--     few not at all, each unit with its own habits; the two leading-group
--     pseudo-units and 区史志办 never report;
--   - 1.5.2 (区卫计局, due 2018-12-31) reports done on 2018-12-24, which
--     files a closure request that the office verifies on 2018-12-28: the
--     task is done;
--   - 1.1.1 (区扶贫办) asks last month to close its task, and the office
--     sends the request back for want of evidence: the task is yellow
--     (closure_rejected) until it reports again;
--   - 2.2.1.2 (区水利局) misses its report three months ago, is urged two
--     months ago and replies in time;
--   - 1.7.2.4 (区体育发展中心) misses its last two reports, is urged last
--     month and has not replied: past reply_by, the task is yellow.
-- Every date is a calendar day in the time zone given as `tz` (duban's
-- DUBAN_TIMEZONE, default Asia/Shanghai), and every row carries its date in
-- the past (created_at, acknowledged_at, decided_at, replied_at), so that
-- as_of= reproduces any past month.
--
-- It is marked: progress logs have reporter '示例数据', closure requests'
-- evidence and urges' messages start with 【示例数据】, deciders are
-- '督查室（示例数据）', and the journal names the writer '示例数据
-- (seed/sample-history.sql)'. It runs once: when the sample is there it adds
-- nothing. It refuses (adds nothing, says why) when the database holds any
-- plan other than the seed plan, or when the seed plan has reports,
-- signatures, closure requests or urges of its own.

\set ON_ERROR_STOP on
\if :{?tz}
\else
\set tz 'Asia/Shanghai'
\endif
SET client_min_messages = notice;
SET TimeZone = :'tz';

-- A number from 0 to n - 1 drawn from key: the same key, the same number.
CREATE FUNCTION pg_temp.sample_pick(key text, n integer) RETURNS integer LANGUAGE sql IMMUTABLE AS $$
    SELECT (('x' || substr(md5(key), 1, 7))::bit(28)::integer % n)
$$;

-- The item of choices picked by key.
CREATE FUNCTION pg_temp.sample_text(key text, choices text[]) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT choices[1 + pg_temp.sample_pick(key, cardinality(choices))]
$$;

-- A moment of day d, from 09:00 to 16:59, drawn from key.
CREATE FUNCTION pg_temp.sample_moment(d date, key text) RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT d + time '09:00' + pg_temp.sample_pick(key, 480) * interval '1 minute'
$$;

BEGIN;
SET LOCAL duban.token_name = '示例数据 (seed/sample-history.sql)';
SET LOCAL duban.request_id = 'sample-history';

DO $sample$
DECLARE
    seed_doc constant text := '青西新办发〔2018〕21号';
    marker constant text := '示例数据';
    office constant text := '督查室（示例数据）';
    never_sign constant text[] := ARRAY['区扶贫开发工作领导小组成员单位', '区扶贫开发领导小组成员单位', '区史志办',
                                        '区人大', '区政协'];
    never_report constant text[] := ARRAY['区扶贫开发工作领导小组成员单位', '区扶贫开发领导小组成员单位', '区史志办'];
    p plan;
    start date;
    this_month date := date_trunc('month', current_date)::date;
    last_month date := (date_trunc('month', current_date) - interval '1 month')::date;
    months_ago_2 date := (date_trunc('month', current_date) - interval '2 months')::date;
    months_ago_3 date := (date_trunc('month', current_date) - interval '3 months')::date;
    done_task task;
    rejected_task task;
    answered_task task;
    silent_task task;
    log_id bigint;
    counts text;
BEGIN
    SELECT * INTO p FROM plan WHERE doc_number = seed_doc;
    IF NOT FOUND THEN
        RAISE NOTICE 'sample history: the seed plan % is not in this database; nothing added', seed_doc;
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM plan WHERE id <> p.id) THEN
        RAISE NOTICE 'sample history refused: this database holds plans other than the seed plan; nothing added';
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM progress_log WHERE reporter = marker) THEN
        RAISE NOTICE 'sample history: already loaded; nothing added';
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM progress_log) OR EXISTS (SELECT 1 FROM acknowledgement)
       OR EXISTS (SELECT 1 FROM closure_request) OR EXISTS (SELECT 1 FROM urge) THEN
        RAISE NOTICE 'sample history refused: the seed plan has a history of its own; nothing added';
        RETURN;
    END IF;
    start := coalesce(p.starts_on, p.issued_on, p.created_at::date);
    IF months_ago_3 <= date_trunc('month', start) THEN
        RAISE NOTICE 'sample history: the plan started less than four months ago; nothing added';
        RETURN;
    END IF;

    SELECT * INTO done_task FROM task WHERE plan_id = p.id AND path = '{1,5,2}';
    SELECT * INTO rejected_task FROM task WHERE plan_id = p.id AND path = '{1,1,1}';
    SELECT * INTO answered_task FROM task WHERE plan_id = p.id AND path = '{2,2,1,2}';
    SELECT * INTO silent_task FROM task WHERE plan_id = p.id AND path = '{1,7,2,4}';
    IF done_task.lead_unit_id IS NULL OR rejected_task.lead_unit_id IS NULL
       OR answered_task.lead_unit_id IS NULL OR silent_task.lead_unit_id IS NULL THEN
        RAISE NOTICE 'sample history refused: the seed plan has been changed (tasks 1.5.2, 1.1.1, 2.2.1.2, 1.7.2.4); nothing added';
        RETURN;
    END IF;

    -- 签收: in the first ten days, every unit but those of never_sign, each
    -- of them for its first task and for nearly all of its others.
    INSERT INTO acknowledgement (task_id, unit_id, acknowledged_at)
    SELECT a.task_id, a.unit_id,
           pg_temp.sample_moment(start + 1 + pg_temp.sample_pick(a.key || '签收日', 9), a.key || '签收')
    FROM (SELECT tu.task_id, tu.unit_id, array_to_string(t.path, '.') || u.name AS key,
                 row_number() OVER (PARTITION BY tu.unit_id ORDER BY t.path) AS nth
          FROM task_unit tu
          JOIN task t ON t.id = tu.task_id
          JOIN unit u ON u.id = tu.unit_id
          WHERE t.plan_id = p.id AND u.name <> ALL (never_sign)) a
    WHERE a.nth = 1 OR pg_temp.sample_pick(a.key || '漏签', 100) >= 4;

    -- Monthly reports of the lead units, from the plan's first month to
    -- last month. Each unit has a habit: how often it is late and how
    -- often it does not report at all. Progress climbs towards a ceiling.
    CREATE TEMP TABLE sample_report ON COMMIT DROP AS
    SELECT t.id AS task_id, t.lead_unit_id AS unit_id, m.month, m.k,
           array_to_string(t.path, '.') || to_char(m.month, 'YYYY-MM') AS key,
           CASE
               WHEN t.id = answered_task.id AND m.month = months_ago_3 THEN 'missing'
               WHEN t.id = silent_task.id AND m.month >= months_ago_2 THEN 'missing'
               WHEN t.id = rejected_task.id AND m.month = last_month THEN 'early'
               WHEN pg_temp.sample_pick(array_to_string(t.path, '.') || to_char(m.month, 'YYYY-MM') || '漏报', 1000)
                    < 10 * h.missing THEN 'missing'
               WHEN pg_temp.sample_pick(array_to_string(t.path, '.') || to_char(m.month, 'YYYY-MM') || '迟报', 1000)
                    < 10 * h.late AND (m.month + interval '1 month')::date - m.month > 28 THEN 'late'
               ELSE 'on_time'
           END AS state,
           round(c.first + (c.ceiling - c.first) * (1 - exp(-(m.k + 1)::numeric / c.pace)))::integer AS percent
    FROM task t
    JOIN unit u ON u.id = t.lead_unit_id
    CROSS JOIN LATERAL (SELECT (ARRAY[2, 4, 8, 15])[1 + pg_temp.sample_pick(u.name || '习惯', 4)] AS missing,
                               (ARRAY[4, 8, 15, 30])[1 + pg_temp.sample_pick(u.name || '拖延', 4)] AS late) h
    CROSS JOIN LATERAL (SELECT 5 + pg_temp.sample_pick(array_to_string(t.path, '.') || '起步', 20) AS first,
                               80 + pg_temp.sample_pick(array_to_string(t.path, '.') || '目标', 19) AS ceiling,
                               4 + pg_temp.sample_pick(array_to_string(t.path, '.') || '节奏', 30) AS pace) c
    CROSS JOIN LATERAL (SELECT g::date AS month, row_number() OVER (ORDER BY g) - 1 AS k
                        FROM generate_series(date_trunc('month', start), last_month, interval '1 month') g) m
    WHERE t.plan_id = p.id AND t.id <> done_task.id AND u.name <> ALL (never_report);

    INSERT INTO progress_log (task_id, unit_id, reported_on, percent, status, summary, problems, next_steps,
                              reporter, created_at, updated_at)
    SELECT r.task_id, r.unit_id, d.reported_on, r.percent, 'in_progress',
           format('%s：%s', to_char(r.month, 'YYYY"年"FMMM"月"'), pg_temp.sample_text(r.key || '进展', ARRAY[
               '各项措施按计划推进，完成本月阶段任务。',
               '召开专题推进会，协调配合单位逐项落实分工。',
               '更新工作台账，对照目标逐项销号推进。',
               '开展督导检查，发现的问题已督促整改。',
               '政策宣传到位，资金按进度拨付使用。',
               '深入镇街（管区）调研，掌握基层落实情况。'])),
           CASE WHEN pg_temp.sample_pick(r.key || '问题', 4) = 0 THEN pg_temp.sample_text(r.key || '问题内容', ARRAY[
               '部分镇街（管区）进度不一，资金到位偏慢。',
               '基层人手紧张，数据更新不够及时。',
               '个别项目前期手续办理周期较长。']) END,
           pg_temp.sample_text(r.key || '打算', ARRAY[
               '下月继续按计划推进，加强跟踪调度。',
               '加强与配合单位沟通，确保按期完成。',
               '梳理薄弱环节，集中力量攻坚。']),
           marker, pg_temp.sample_moment(d.reported_on, r.key), pg_temp.sample_moment(d.reported_on, r.key)
    FROM sample_report r
    CROSS JOIN LATERAL (SELECT CASE r.state
               WHEN 'early' THEN r.month + 9
               WHEN 'late' THEN r.month + 28 + pg_temp.sample_pick(r.key || '日', (r.month + interval '1 month')::date - r.month - 28)
               ELSE r.month + 14 + pg_temp.sample_pick(r.key || '日', 14) END AS reported_on) d
    WHERE r.state <> 'missing'
    ORDER BY d.reported_on, r.task_id;

    -- 1.5.2 reports done before its deadline; the report files a closure
    -- request, which the office verifies: 销号.
    INSERT INTO progress_log (task_id, unit_id, reported_on, percent, status, summary, next_steps, reporter,
                              created_at, updated_at)
    VALUES (done_task.id, done_task.lead_unit_id, date '2018-12-24', 100, 'done',
            '患病贫困人口“先诊疗、后付费”和“三免两减半”政策全面落实，各级定点医疗机构均已设立综合服务窗口。',
            '巩固政策落实成果，纳入日常监管。', marker,
            timestamptz '2018-12-24 10:15', timestamptz '2018-12-24 10:15')
    RETURNING id INTO log_id;
    INSERT INTO closure_request (task_id, unit_id, summary, evidence, state, progress_log_id, created_at,
                                 decided_at, decided_by, comment, updated_at, version)
    SELECT done_task.id, done_task.lead_unit_id, l.summary,
           '【示例数据】区卫计局关于贫困人口医疗保障政策落实情况的报告及定点医疗机构服务窗口台账', 'verified', l.id,
           l.created_at, timestamptz '2018-12-28 15:30', office, '经核查，政策已全面落实，予以销号。',
           timestamptz '2018-12-28 15:30', 2
    FROM progress_log l WHERE l.id = log_id;
    UPDATE task SET status = 'done', progress = 100, closed_on = date '2018-12-28', version = version + 1,
                    updated_at = now()
    WHERE id = done_task.id;

    -- 1.1.1 reported on the 10th of last month, asked on the 18th to close
    -- the task, and was sent back on the 24th.
    INSERT INTO closure_request (task_id, unit_id, summary, evidence, state, created_at, decided_at, decided_by,
                                 comment, updated_at, version)
    VALUES (rejected_task.id, rejected_task.lead_unit_id,
            '全区建档立卡贫困人口信息已全面排查，扶贫档案和数据管理完善，做到“五个清楚”。',
            '【示例数据】区扶贫办精准脱贫底数排查工作总结', 'rejected',
            (last_month + 17) + time '09:30', (last_month + 23) + time '16:00', office,
            '佐证材料不足：缺少各镇街（管区）的核查台账，请补充后重新申请。',
            (last_month + 23) + time '16:00', 2);

    -- 催办: 2.2.1.2 missed its report three months ago, was urged on the
    -- 3rd of the month after and replied on the 7th; 1.7.2.4 missed its
    -- report two months ago, was urged on the 3rd of last month to reply by
    -- the 10th, and has not replied (nor reported since).
    INSERT INTO urge (task_id, unit_id, message, reply_by, created_at, reply, replied_at, updated_at, version)
    VALUES (answered_task.id, answered_task.lead_unit_id,
            format('【示例数据】你单位未报送%s“农村饮水安全达标工程”进展，请于%s前说明情况并报送。',
                   to_char(months_ago_3, 'YYYY"年"FMMM"月"'), to_char(months_ago_2 + 9, 'FMMM"月"FMDD"日"')),
            months_ago_2 + 9, (months_ago_2 + 2) + time '09:00',
            '因汛期抢修供水管网，月度进展漏报，已补充说明，今后按时报送。', (months_ago_2 + 6) + time '15:20',
            (months_ago_2 + 6) + time '15:20', 2),
           (silent_task.id, silent_task.lead_unit_id,
            format('【示例数据】你单位未报送%s“体育扶贫”进展，请于%s前说明情况并报送。',
                   to_char(months_ago_2, 'YYYY"年"FMMM"月"'), to_char(last_month + 9, 'FMMM"月"FMDD"日"')),
            last_month + 9, (last_month + 2) + time '09:00', NULL, NULL, (last_month + 2) + time '09:00', 1);

    -- Each task's progress and status follow its latest report, as a
    -- report written through the API makes them.
    UPDATE task t SET progress = l.percent, status = 'in_progress', version = t.version + 1, updated_at = now()
    FROM (SELECT DISTINCT ON (task_id) task_id, percent FROM progress_log
          ORDER BY task_id, reported_on DESC, id DESC) l
    WHERE t.id = l.task_id AND t.plan_id = p.id AND t.id <> done_task.id;

    SELECT format('%s acknowledgements, %s progress logs, %s closure requests, %s urges',
                  (SELECT count(*) FROM acknowledgement), (SELECT count(*) FROM progress_log),
                  (SELECT count(*) FROM closure_request), (SELECT count(*) FROM urge)) INTO counts;
    RAISE NOTICE 'sample history loaded for the seed plan (sample data): %', counts;
END $sample$;

COMMIT;
