// Create, read, update and delete a task (its plan and units first) through
// the client generated from openapi.yaml (common.ts). If the contract and
// this code disagree about a path, a parameter or a field, tsc refuses to
// compile it; if duban and the contract disagree, the run fails. It also
// revalidates a list (If-None-Match → 304) and reads a sparse task (fields=).
import type { components } from './schema.js';
import { check, client, run } from './common.js';

type Task = components['schemas']['Task'];

async function main(): Promise<void> {
  const plan = await client.POST('/api/v1/plans', {
    body: {
      title: '《关于打赢脱贫攻坚战三年行动的意见》责任分解方案',
      doc_number: '青西新办发〔2018〕21号',
      issuer: '中共青岛西海岸新区工委办公室 青岛西海岸新区管委办公室',
      issued_on: '2018-12-04',
    },
  });
  check(plan.response.status === 201 && plan.data, `create plan: ${plan.response.status} ${JSON.stringify(plan.error)}`);
  check(plan.response.headers.get('Location') === `/api/v1/plans/${plan.data.id}`, 'plan Location');

  const lead = await client.POST('/api/v1/units', { body: { name: '区扶贫办', aliases: ['区扶贫开发办公室'] } });
  const partner = await client.POST('/api/v1/units', { body: { name: '区民政局', kind: 'department' } });
  const leader = await client.POST('/api/v1/leaders', { body: { name: '李金国', title: '区委常委' } });
  check(lead.data && partner.data && leader.data, 'create units and leader');

  const created = await client.POST('/api/v1/tasks', {
    body: {
      plan_id: plan.data.id,
      outline: '1.',
      title: '摸清摸实精准脱贫底数',
      body: '全面排查建档立卡贫困人口信息，进一步完善扶贫档案和数据管理。',
      due_on: '2020-12-31',
      leader_ids: [leader.data.id],
      unit_ids: [lead.data.id, partner.data.id],
    },
    headers: { 'Idempotency-Key': 'client-crud-task-1' },
  });
  check(created.response.status === 201 && created.data, `create task: ${created.response.status} ${JSON.stringify(created.error)}`);
  const id = created.data.id;
  check(created.data.units[0]?.role === 'lead' && created.data.units[1]?.role === 'partner', 'lead unit first');

  const read = await client.GET('/api/v1/tasks/{id}', { params: { path: { id } } });
  check(read.data?.title === '摸清摸实精准脱贫底数', 'read task');
  const etag = read.response.headers.get('ETag');
  check(etag === `"${read.data.version}"`, `ETag ${etag}`);

  const patched = await client.PATCH('/api/v1/tasks/{id}', {
    params: { path: { id }, header: { 'If-Match': etag } },
    body: { status: 'in_progress', due_text: '2020年底前' },
  });
  check(patched.data?.status === 'in_progress' && patched.data.version > read.data.version, `patch task: ${JSON.stringify(patched.error)}`);

  const stale = await client.PATCH('/api/v1/tasks/{id}', {
    params: { path: { id }, header: { 'If-Match': etag } },
    body: { status: 'done' },
  });
  check(stale.response.status === 412 && stale.error?.status === 412, 'stale If-Match is a 412 problem');

  const whole: Task = patched.data;
  const replaced = await client.PUT('/api/v1/tasks/{id}', {
    params: { path: { id } },
    body: { ...whole, title: '摸清摸实精准脱贫底数（修订）', unit_ids: [partner.data.id, lead.data.id] },
  });
  check(replaced.data?.units[0]?.id === partner.data.id, `replace task: ${JSON.stringify(replaced.error)}`);

  const listed = await client.GET('/api/v1/tasks', { params: { query: { plan_id: plan.data.id, unit_id: partner.data.id, role: 'lead', limit: 10 } } });
  check(listed.data?.total === 1 && listed.data.items[0]?.id === id, 'list by lead unit');
  const listTag = listed.response.headers.get('ETag');
  check(listTag, 'a list has an ETag');
  const revalidated = await client.GET('/api/v1/tasks', {
    params: { query: { plan_id: plan.data.id, unit_id: partner.data.id, role: 'lead', limit: 10 }, header: { 'If-None-Match': listTag } },
  });
  check(revalidated.response.status === 304, `list If-None-Match: ${revalidated.response.status}`);

  const sparse = await client.GET('/api/v1/tasks/{id}', { params: { path: { id }, query: { fields: 'id,title,units.name' } } });
  check(JSON.stringify(sparse.data) === JSON.stringify({ id, title: replaced.data?.title, units: (replaced.data?.units ?? []).map((u) => ({ name: u.name })) }),
    `fields: ${JSON.stringify(sparse.data)}`);

  const removed = await client.DELETE('/api/v1/tasks/{id}', { params: { path: { id } } });
  check(removed.response.status === 204, `delete task: ${removed.response.status}`);
  const gone = await client.GET('/api/v1/tasks/{id}', { params: { path: { id } } });
  check(gone.response.status === 404 && gone.error?.title === 'Not Found', 'deleted task is a 404 problem');

  const cleanup = await client.DELETE('/api/v1/plans/{id}', { params: { path: { id: plan.data.id }, query: { cascade: true } } });
  check(cleanup.response.status === 204, 'delete plan');
  console.log(`task ${id} created, read, patched, replaced, listed and deleted through the generated client`);
}

run(main);
