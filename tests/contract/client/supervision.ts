// The supervision loop (督办) through the client generated from
// openapi.yaml: a plan with its supervision settings, a unit signing for a
// task (签收), a closure request sent back (办结 → 核查), an urge and its
// reply (催办), then the reports: missing reports, the unit scorecards as
// JSON and CSV, the bulletin as Markdown, and the colour filter. tsc
// refuses it if a path, parameter or member disagrees with the contract;
// the run fails if duban disagrees.
import type { components } from './schema.js';
import { check, client, run } from './common.js';

type Reason = components['schemas']['WarningReason'];

async function main(): Promise<void> {
  const plan = await client.POST('/api/v1/plans', {
    body: {
      title: '《关于实施乡村振兴战略的意见》责任分解方案',
      doc_number: '青西新办发〔2019〕5号',
      starts_on: '2019-01-01',
      supervision: { report_cadence: 'monthly', report_day: 25, lag_points: 15 },
    },
  });
  check(plan.response.status === 201 && plan.data, `create plan: ${plan.response.status} ${JSON.stringify(plan.error)}`);
  const settings = plan.data.supervision;
  check(settings.report_day === 25 && settings.near_due_days === 30 && settings.requires_verification,
    `plan supervision: ${JSON.stringify(settings)}`);

  const lead = await client.POST('/api/v1/units', { body: { name: '区农业农村局' } });
  const partner = await client.POST('/api/v1/units', { body: { name: '区自然资源局' } });
  check(lead.data && partner.data, 'create units');
  const task = await client.POST('/api/v1/tasks', {
    body: {
      plan_id: plan.data.id, outline: '1.', title: '建设现代农业园区', due_on: '2019-12-31',
      unit_ids: [lead.data.id, partner.data.id], report_cadence: 'quarterly',
    },
  });
  check(task.data?.report_cadence === 'quarterly', `create task: ${JSON.stringify(task.error)}`);
  const taskId = task.data.id;
  const path = { id: taskId };

  // 签收: 201 the first time, 200 with the same answer afterwards.
  const signed = await client.POST('/api/v1/tasks/{id}/acknowledgements', { params: { path }, body: { unit_id: lead.data.id } });
  check(signed.response.status === 201 && signed.data?.unit_id === lead.data.id, `acknowledge: ${JSON.stringify(signed.error)}`);
  const again = await client.POST('/api/v1/tasks/{id}/acknowledgements', { params: { path }, body: { unit_id: lead.data.id } });
  check(again.response.status === 200 && again.data?.acknowledged_at === signed.data.acknowledged_at, 'acknowledge again');
  const stranger = await client.POST('/api/v1/tasks/{id}/acknowledgements', { params: { path }, body: { unit_id: 999999999 } });
  check(stranger.response.status === 422 && stranger.error?.errors?.[0]?.field === 'unit_id', 'a unit not assigned is a 422');

  // 办结申请, sent back.
  const asked = await client.POST('/api/v1/tasks/{id}/closure-requests', {
    params: { path, header: { 'Idempotency-Key': 'client-closure-1' } },
    body: { unit_id: lead.data.id, summary: '园区主体工程已完工', evidence: '竣工验收报告' },
  });
  check(asked.response.status === 201 && asked.data?.state === 'requested', `closure request: ${JSON.stringify(asked.error)}`);
  const requestId = asked.data.id;
  check(asked.response.headers.get('Location') === `/api/v1/closure-requests/${requestId}`, 'closure request Location');
  const twice = await client.POST('/api/v1/tasks/{id}/closure-requests', { params: { path }, body: { unit_id: lead.data.id, summary: '再次申请' } });
  check(twice.response.status === 409, 'a second waiting request is a 409');
  const bare = await client.POST('/api/v1/closure-requests/{id}/decision', { params: { path: { id: requestId } }, body: { decision: 'reject' } });
  check(bare.response.status === 422, 'a rejection needs a comment');
  const rejected = await client.POST('/api/v1/closure-requests/{id}/decision', {
    params: { path: { id: requestId } }, body: { decision: 'reject', comment: '缺少验收材料' },
  });
  check(rejected.data?.state === 'rejected' && rejected.data.decided_at !== null, `reject: ${JSON.stringify(rejected.error)}`);
  const listed = await client.GET('/api/v1/closure-requests', { params: { query: { task_id: taskId, state: 'rejected' } } });
  check(listed.data?.items.length === 1 && listed.data.items[0]?.comment === '缺少验收材料', 'list closure requests');
  const shown = await client.GET('/api/v1/tasks/{id}', { params: { path } });
  check(shown.data?.closure.state === 'rejected' && shown.data.closure.request_id === requestId, 'the task shows its closure');
  check(shown.data.units[0]?.acknowledged_at === signed.data.acknowledged_at && shown.data.units[1]?.acknowledged_at === null,
    'the task shows who signed');
  check(shown.data.warning_reasons.some((r: Reason) => r.code === 'closure_rejected'), 'a rejected closure makes the task yellow');

  // 催办 and the reply.
  const urged = await client.POST('/api/v1/tasks/{id}/urges', {
    params: { path }, body: { unit_id: partner.data.id, message: '请报送用地保障进展', reply_by: '2019-06-28' },
  });
  check(urged.response.status === 201 && urged.data?.reply === null, `urge: ${JSON.stringify(urged.error)}`);
  const open = await client.GET('/api/v1/urges', { params: { query: { task_id: taskId, open: true } } });
  check(open.data?.items.map((u) => u.id).join() === String(urged.data.id), 'open urges');
  const replied = await client.POST('/api/v1/urges/{id}/reply', { params: { path: { id: urged.data.id } }, body: { message: '已完成用地预审' } });
  check(replied.data?.reply === '已完成用地预审' && replied.data.replied_at !== null, `reply: ${JSON.stringify(replied.error)}`);
  const late = await client.POST('/api/v1/urges/{id}/reply', { params: { path: { id: urged.data.id } }, body: { message: '再次回复' } });
  check(late.response.status === 409, 'a second reply is a 409');

  // The reports, as of a past day.
  const missing = await client.GET('/api/v1/supervision/missing-reports', {
    params: { query: { plan_id: plan.data.id, period: '2019-Q1', as_of: '2019-04-30' } },
  });
  check(missing.response.status === 200 && missing.data?.items.some((m) => m.task_id === taskId && m.period === '2019-Q1'),
    `missing reports: ${JSON.stringify(missing.data ?? missing.error)}`);
  const cards = await client.GET('/api/v1/scorecards/units', { params: { query: { plan_id: plan.data.id, as_of: '2019-04-30' } } });
  const card = typeof cards.data === 'object' ? cards.data.items[0] : undefined;
  check(card?.unit_id === lead.data.id && card.rank === 1 && card.score >= 0 && card.score <= 100, `scorecards: ${JSON.stringify(cards.error)}`);
  const csv = await client.GET('/api/v1/scorecards/units', {
    params: { query: { plan_id: plan.data.id, as_of: '2019-04-30' } }, headers: { Accept: 'text/csv' }, parseAs: 'text',
  });
  check(csv.response.status === 200 && String(csv.data).startsWith('unit_id,name,led,'), 'scorecards as CSV');
  const bulletin = await client.GET('/api/v1/plans/{id}/bulletin', {
    params: { path: { id: plan.data.id }, query: { period: '2019-03', as_of: '2019-04-30' } },
    headers: { Accept: 'text/markdown' }, parseAs: 'text',
  });
  check(bulletin.response.status === 200 && bulletin.response.headers.get('Content-Type')?.startsWith('text/markdown'),
    `bulletin: ${bulletin.response.status}`);
  const yellow = await client.GET('/api/v1/tasks', { params: { query: { plan_id: plan.data.id, warning: 'yellow,red' } } });
  check(yellow.data?.items.some((t) => t.id === taskId), 'the colour filter takes a list');

  const cleanup = await client.DELETE('/api/v1/plans/{id}', { params: { path: { id: plan.data.id }, query: { cascade: true } } });
  check(cleanup.response.status === 204, 'delete plan');
  console.log(`task ${taskId} signed for, asked to close, sent back, urged and answered, and reported on through the generated client`);
}

run(main);
