// Every answer the end-to-end tests received, checked against openapi.yaml.
// The e2e harness appends each exchange to $DUBAN_RESPONSE_LOG (one file per
// e2e test, JSON lines: method, path, status, content_type, body); this reads
// every *.jsonl file in the directory given, matches each request to its
// operation as the router does, and fails naming each request whose status
// is not documented for it or whose body does not match the schema.
//   node responses.mjs DIR
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Contract, route } from './lib/spec.mjs';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node responses.mjs LOG_DIR');
  process.exit(2);
}
const contract = new Contract();
let files = [];
try {
  files = readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort();
} catch {
  /* no directory: reported below */
}

let total = 0;
const failures = new Map();   // problem text → first request showing it, and a count
const exercised = new Map();  // "METHOD /template" → statuses seen
for (const file of files) {
  const lines = readFileSync(join(dir, file), 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let x;
    try {
      x = JSON.parse(line);
    } catch (e) {
      failures.set(`unreadable log line: ${e.message}`, { at: `${file}:${i + 1}`, count: 1 });
      return;
    }
    total++;
    const where = route(contract.ops, x.method, x.path);
    const key = where.kind === 'operation' ? `${where.method} ${where.path}` : `(unrouted ${where.kind})`;
    if (!exercised.has(key)) exercised.set(key, new Set());
    exercised.get(key).add(x.status);
    for (const problem of contract.check(x)) {
      const id = `${key} → ${x.status}: ${problem}`;
      const seen = failures.get(id);
      if (seen) seen.count++;
      else failures.set(id, { at: `${file}:${i + 1}`, request: `${x.method} ${x.path}`, body: (x.body || '').slice(0, 300), count: 1 });
    }
  });
}

if (total === 0) {
  console.log(`FAIL no exchanges in ${dir}/*.jsonl: the e2e tests must run first, with DUBAN_RESPONSE_LOG set`);
  process.exit(1);
}
const operations = contract.ops.filter((o) => o.method !== 'HEAD').length;
const covered = [...exercised.keys()].filter((k) => !k.startsWith('(')).length;
console.log(`${total} exchanges from ${files.length} e2e log(s); ${covered} of ${operations} operations exercised`);
for (const o of contract.ops) {
  const k = `${o.method} ${o.path}`;
  console.log(`  ${exercised.has(k) ? [...exercised.get(k)].sort().join(',').padEnd(24) : '(not exercised)'.padEnd(24)} ${k}`);
}
for (const [id, f] of failures) {
  console.log(`FAIL ${f.request} (${f.at}${f.count > 1 ? `, and ${f.count - 1} more like it` : ''})\n     ${id}\n     body: ${f.body}`);
}
if (failures.size) {
  console.log(`${failures.size} kind(s) of answer do not match openapi.yaml`);
  process.exit(1);
}
console.log('every logged answer matches openapi.yaml');
