-- A synthetic plan for the benchmark, written straight into duban's tables
-- in one transaction (psql; scripts/bench runs it). The variables, set with
-- psql -v, are the sizes:
--   sections × subsections × items   the task tree (一、 / （一） / 1.)
--   units, leaders                    the units and leaders it assigns
--   logs                              progress logs across the plan's tasks
-- Every task gets 1 lead unit, 0-3 partner units and 1-2 leaders, both
-- skewed so that a few units lead thousands of tasks, as in real plans.
-- Due dates spread over the past and the future; progress is the percent
-- of each task's latest log. setseed makes the data the same on every run.
-- The audit journal's triggers are left out of the load (see below).
-- With -v render_apart=1 the script renders nothing and leaves those
-- triggers off: the tasks stay pending (doc '') for the loader to render
-- in several sessions at once, which then turns the triggers back on
-- (bench/synthetic_triggers.sql, -v switch=ENABLE).
\set ON_ERROR_STOP on

BEGIN;
SELECT setseed(0.20181204);

-- 1..99 as Chinese numerals (一 … 十 … 九十九), for outlines.
CREATE FUNCTION pg_temp.cn(n int) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN n / 10 = 0 THEN '' WHEN n / 10 = 1 THEN '十'
                ELSE (ARRAY['一','二','三','四','五','六','七','八','九'])[n / 10] || '十' END
        || CASE WHEN n % 10 = 0 THEN '' ELSE (ARRAY['一','二','三','四','五','六','七','八','九'])[n % 10] END
$$;

-- Pieces of text, picked at random.
CREATE TEMP TABLE words AS SELECT
    ARRAY['发展改革','财政','教育','民政','人社','农业农村','自然资源','住房城乡建设','交通运输','水务',
          '卫生健康','市场监管','应急管理','文化旅游','商务','生态环境','城市管理','统计','审计','医疗保障']
        AS domains,
    ARRAY['黄岛','辛安','薛家岛','长江路','灵珠山','红石崖','隐珠','珠海','滨海','胶南',
          '王台','张家楼','铁山','宝山','六汪','海青','大场','大村','藏南','泊里'] AS places,
    ARRAY['王','李','张','刘','陈','杨','赵','黄','周','吴','徐','孙','胡','朱','高','林','何','郭','马','罗']
        AS surnames,
    ARRAY['建国','立新','海涛','明','静','志强','秀英','伟','丽娜','国庆','晓东','红梅','永刚','春生','玉兰',
          '德华','金平','雪梅','文斌','振宇'] AS given,
    ARRAY['推进','落实','完善','加强','深化','健全','实施','开展','巩固','提升'] AS verbs,
    ARRAY['产业扶贫','就业帮扶','教育保障','医疗救助','住房安全','饮水安全','兜底保障','扶志扶智',
          '基础设施','人居环境','公共服务','社会帮扶','资金监管','考核评估','作风建设','宣传引导'] AS topics,
    ARRAY['全面排查建档立卡贫困人口信息，进一步完善扶贫档案和数据管理。',
          '对明显不符合扶贫标准的按规定剔除，严格复核脱贫成效和退出程序。',
          '把老年人、残疾人、重病人作为巩固提升的重点人群，采取特殊措施帮助解决特殊困难。',
          '建立统筹发展、共建共享、内外联动、市场引导的长效机制，规范完善动态管理。',
          '以市场需求为导向，因地制宜培育发展对贫困户增收带动作用明显的特色产业。',
          '健全贫困人口即时帮扶机制，对因病因灾等临时性、突发性困难即时出现、即时帮扶。',
          '加强扶贫资金项目监管，全面公开扶贫资金分配和使用情况，接受社会监督。',
          '每季度调度一次工作进展，对进度滞后的单位进行通报并督促整改。',
          '开展常态化约谈，随时发现问题随时约谈，对不能胜任的干部及时调整。',
          '组织广播电视、报刊杂志等媒体推出一批脱贫攻坚重点新闻报道。'] AS sentences,
    ARRAY['已完成阶段性目标，各项工作有序推进。','完成入户核查，台账已更新。','资金已拨付到位，项目开工建设。',
          '召开专题会议研究部署，明确责任分工。','开展督导检查，发现问题已整改。','进展顺利'] AS summaries,
    ARRAY['部分村庄基础数据不完整。','资金到位较慢。','专业人员不足。'] AS problems;

-- Units and leaders.
INSERT INTO unit (name, kind)
SELECT CASE kind
           WHEN 'township' THEN format('%s%s镇', w.places[1 + i % 20], i)
           WHEN 'enterprise' THEN format('青岛%s发展集团%s公司', w.places[1 + i % 20], i)
           WHEN 'group' THEN format('区%s工作领导小组%s', w.domains[1 + i % 20], i)
           WHEN 'other' THEN format('%s社区服务中心%s', w.places[1 + i % 20], i)
           ELSE format('区%s局%s', w.domains[1 + i % 20], i) END,
       kind
FROM words w,
     LATERAL (SELECT i, CASE WHEN i % 10 < 6 THEN 'department' WHEN i % 10 < 8 THEN 'township'
                             WHEN i % 10 = 8 THEN 'enterprise' WHEN i % 20 = 9 THEN 'group' ELSE 'other' END AS kind
              FROM generate_series(1, :units) i) g;
CREATE TEMP TABLE bench_unit AS
    SELECT (row_number() OVER (ORDER BY id) - 1)::int AS idx, id
    FROM (SELECT id FROM unit ORDER BY id DESC LIMIT :units) u;

INSERT INTO leader (name, title, contact)
SELECT w.surnames[1 + i % 20] || w.given[1 + (i / 20) % 20] || CASE WHEN i >= 400 THEN i::text ELSE '' END,
       (ARRAY['区委副书记','副区长','区委常委','区政协副主席'])[1 + i % 4],
       '0532-8' || lpad(i::text, 7, '0')
FROM words w, generate_series(1, :leaders) i;
CREATE TEMP TABLE bench_leader AS
    SELECT (row_number() OVER (ORDER BY id) - 1)::int AS idx, id
    FROM (SELECT id FROM leader ORDER BY id DESC LIMIT :leaders) l;

-- The audit journal and the change feed record what people do through
-- duban; a bulk load is not that, so their triggers are off on the tables
-- loaded below until the end (other triggers and every constraint stay on).
\set switch DISABLE
\ir synthetic_triggers.sql
-- Each task's representation is rendered once, at the end (migration 0007).
SELECT set_config('duban.render_later', 'on', true);

INSERT INTO plan (doc_number, title, issuer, issued_on, basis, starts_on, ends_on)
VALUES ('青西新办发〔2024〕9001号', '《关于持续巩固拓展脱贫攻坚成果的意见》责任分解方案（基准测试）',
        '中共青岛西海岸新区工委办公室 青岛西海岸新区管委办公室', current_date - 500,
        '《关于持续巩固拓展脱贫攻坚成果的意见》（青发〔2024〕1号）', current_date - 500, current_date + 900)
RETURNING id AS plan_id \gset

-- The tree: sections, subsections, items; position dense among siblings,
-- path the positions from the root.
INSERT INTO task (plan_id, parent_id, level, outline, position, path, title, status)
SELECT :plan_id, NULL, 1, pg_temp.cn(s), s, ARRAY[s],
       w.verbs[1 + s % 10] || w.topics[1 + s % 16] || '成果', 'in_progress'
FROM words w, generate_series(1, :sections) s;

INSERT INTO task (plan_id, parent_id, level, outline, position, path, title, status)
SELECT :plan_id, p.id, 2, '（' || pg_temp.cn(ss) || '）', ss, p.path || ss,
       w.verbs[1 + (p.position + ss) % 10] || w.topics[1 + (p.position * 3 + ss) % 16] || '工作', 'in_progress'
FROM words w, task p, generate_series(1, :subsections) ss
WHERE p.plan_id = :plan_id AND p.level = 1;

INSERT INTO task (plan_id, parent_id, level, outline, position, path, title, body, status,
                  due_on, due_text, recurrence)
SELECT :plan_id, x.pid, 3, x.k || '.', x.k, x.ppath || x.k,
       w.verbs[1 + floor(x.r1 * 10)::int] || w.topics[1 + x.k % 16] || '第' || x.k || '项任务。',
       w.sentences[1 + floor(x.r2 * 10)::int] || w.sentences[1 + x.k % 10] || w.sentences[1 + (x.k * 7) % 10],
       CASE WHEN x.r3 < 0.30 THEN 'not_started' WHEN x.r3 < 0.75 THEN 'in_progress'
            WHEN x.r3 < 0.95 THEN 'done' ELSE 'cancelled' END,
       x.due, to_char(x.due, 'YYYY"年"FMMM"月"FMDD"日前"'),
       CASE WHEN x.r5 < 0.10 THEN (ARRAY['monthly','bimonthly','quarterly','semiannual','yearly'])[1 + floor(x.r5 * 50)::int] END
FROM words w,
     (SELECT p.id AS pid, p.path AS ppath, k, random() AS r1, random() AS r2, random() AS r3, random() AS r5,
             CASE WHEN random() < 0.15 THEN NULL ELSE current_date + (floor(random() * 900)::int - 450) END AS due
      FROM task p, generate_series(1, :items) k
      WHERE p.plan_id = :plan_id AND p.level = 2) x;

-- Assignments: lead unit skewed towards the first units, partners spread.
INSERT INTO task_unit (task_id, unit_id, position)
SELECT t.id, u.id, j
FROM (SELECT id, floor(power(random(), 2) * :units)::int AS base, 1 + floor(random() * 4)::int AS n
      FROM task WHERE plan_id = :plan_id) t
CROSS JOIN LATERAL generate_series(1, t.n) j
JOIN bench_unit u ON u.idx = (t.base + (j - 1) * 97) % :units;

INSERT INTO task_leader (task_id, leader_id, position)
SELECT t.id, l.id, j
FROM (SELECT id, floor(power(random(), 1.5) * :leaders)::int AS base, 1 + (random() < 0.4)::int AS n
      FROM task WHERE plan_id = :plan_id) t
CROSS JOIN LATERAL generate_series(1, t.n) j
JOIN bench_leader l ON l.idx = (t.base + (j - 1) * 7) % :leaders;

-- Progress logs: a random task, one of its units, a date in the past.
CREATE TEMP TABLE bench_task AS
    SELECT row_number() OVER (ORDER BY task_id)::int AS idx, task_id, array_agg(task_unit.unit_id ORDER BY task_unit.position) AS units
    FROM task_unit JOIN task ON task.id = task_unit.task_id
    WHERE task.plan_id = :plan_id GROUP BY task_id;
SELECT count(*) AS ntasks FROM bench_task \gset

INSERT INTO progress_log (task_id, unit_id, reported_on, percent, status, summary, problems, next_steps,
                          reporter, created_at, updated_at)
SELECT x.task_id, x.units[1 + floor(x.r1 * cardinality(x.units))::int], x.day, floor(x.r3 * 101)::int,
       CASE WHEN x.r4 < 0.7 THEN NULL WHEN x.r4 < 0.9 THEN 'in_progress' ELSE 'done' END,
       w.summaries[1 + floor(x.r5 * 6)::int],
       CASE WHEN x.r4 < 0.5 THEN w.problems[1 + floor(x.r4 * 6)::int] END,
       CASE WHEN x.r5 < 0.5 THEN '下一步将' || w.verbs[1 + floor(x.r5 * 20)::int] || '相关工作。' END,
       w.surnames[1 + floor(x.r1 * 20)::int] || w.given[1 + floor(x.r3 * 20)::int],
       x.day + time '09:00', x.day + time '09:00'
FROM words w,
     (SELECT t.task_id, t.units, r1, r3, r4, r5, current_date - floor(r2 * 600)::int AS day
      FROM (SELECT 1 + floor(random() * :ntasks)::int AS idx, random() AS r1, random() AS r2, random() AS r3,
                   random() AS r4, random() AS r5
            FROM generate_series(1, :logs)) g
      JOIN bench_task t USING (idx)) x;

UPDATE task SET progress = l.percent
FROM (SELECT DISTINCT ON (p.task_id) p.task_id, p.percent
      FROM progress_log p JOIN task t ON t.id = p.task_id
      WHERE t.plan_id = :plan_id
      ORDER BY p.task_id, p.reported_on DESC, p.id DESC) l
WHERE task.id = l.task_id AND task.progress <> l.percent;

\if :{?render_apart}
COMMIT;
\else
SELECT task_render_pending();
\set switch ENABLE
\ir synthetic_triggers.sql
COMMIT;
VACUUM ANALYZE;
\endif
