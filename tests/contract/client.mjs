// The generated client: openapi-typescript turns openapi.yaml into types,
// tsc compiles the programs of tests/contract/client against them (strict),
// and they run on a running duban: crud.ts creates, reads, updates and
// deletes a task; supervision.ts goes round the supervision loop. Works in $CONTRACT_WORK_DIR/client (a build directory), never in
// the source tree.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SOURCE_DIR } from './lib/spec.mjs';
import { Duban } from './lib/server.mjs';

const work = join(process.env.CONTRACT_WORK_DIR || join(tmpdir(), 'duban-contract'), 'client');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const PROGRAMS = ['crud', 'supervision'];
for (const f of [...PROGRAMS.map((p) => `${p}.ts`), 'common.ts', 'tsconfig.json']) copyFileSync(join(SOURCE_DIR, 'tests', 'contract', 'client', f), join(work, f));
symlinkSync(join(SOURCE_DIR, 'node_modules'), join(work, 'node_modules'), 'dir');
writeFileSync(join(work, 'package.json'), '{"type": "module", "private": true}\n');
const bin = (name) => join(SOURCE_DIR, 'node_modules', '.bin', name);

function step(label, cmd, args, env = {}) {
  const r = spawnSync(cmd, args, { cwd: work, encoding: 'utf8', env: { ...process.env, ...env } });
  const out = ((r.stdout || '') + (r.stderr || '')).trim();
  console.log(`== ${label}${out ? '\n' + out : ''}`);
  if (r.status !== 0) {
    console.log(`FAIL ${label} (exit ${r.status})`);
    return false;
  }
  return true;
}

let ok = step('openapi-typescript', bin('openapi-typescript'), [join(SOURCE_DIR, 'openapi.yaml'), '--output', join(work, 'schema.d.ts')])
  && step('tsc', bin('tsc'), ['-p', join(work, 'tsconfig.json')]);
if (ok) {
  const duban = await Duban.start();
  try {
    for (const program of PROGRAMS)
      ok = step(program, process.execPath, [join(work, 'out', `${program}.js`)], { DUBAN_URL: duban.base, DUBAN_TOKEN: duban.token }) && ok;
  } finally {
    const rc = await duban.stop();
    if (rc !== 0) {
      console.log(`FAIL duban exited with ${rc}\n${duban.log().slice(-2000)}`);
      ok = false;
    }
  }
}
process.exit(ok ? 0 : 1);
