// Routes both ways: every route `duban routes` lists is an operation of
// openapi.yaml, and every operation of openapi.yaml is a route duban
// serves. Path variables are compared by position (":_id" = "{id}").
// HEAD is left out on both sides: every GET answers it.
import { execFileSync } from 'node:child_process';
import { Contract, normalisePattern } from './lib/spec.mjs';
import { DUBAN_BIN } from './lib/server.mjs';

const contract = new Contract();
const served = new Map();
const out = execFileSync(DUBAN_BIN, ['routes'], { encoding: 'utf8' });
for (const line of out.split('\n').filter(Boolean)) {
  const [method, pattern, ...rest] = line.trim().split(/\s+/);
  if (!method || !pattern || rest.length) throw new Error(`unexpected line from duban routes: '${line}'`);
  if (method === 'HEAD') continue;
  served.set(`${method} ${normalisePattern(pattern)}`, `${method} ${pattern}`);
}
const documented = new Map();
for (const o of contract.ops) {
  if (o.method === 'HEAD') continue;
  documented.set(`${o.method} ${normalisePattern(o.path)}`, `${o.method} ${o.path}`);
}

const failures = [];
for (const [key, shown] of served)
  if (!documented.has(key)) failures.push(`served but not in openapi.yaml: ${shown}`);
for (const [key, shown] of documented)
  if (!served.has(key)) failures.push(`in openapi.yaml but not served: ${shown}`);

console.log(`duban serves ${served.size} routes (HEAD aside); openapi.yaml documents ${documented.size} operations`);
for (const f of failures) console.log('FAIL ' + f);
if (failures.length) {
  console.log(`${failures.length} difference(s) between the server's routes and openapi.yaml`);
  process.exit(1);
}
console.log('routes and openapi.yaml agree');
