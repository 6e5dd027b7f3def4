// /openapi.yaml and /openapi.json are this tree's openapi.yaml; and /docs
// in a real browser: headless Chromium (Debian's chromium) loads the
// page from a running duban with no other network, lets Swagger UI render
// /openapi.json, and the rendered page must list every operation of
// openapi.yaml (by operationId). The server's access log must show that
// the page's scripts, stylesheet and the contract came from duban itself.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { parse } from 'yaml';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Contract, SPEC_PATH } from './lib/spec.mjs';
import { Duban } from './lib/server.mjs';

const browser = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
if (!browser) {
  console.log('FAIL chromium is not installed (Debian package chromium; scripts/test installs it)');
  process.exit(1);
}
const contract = new Contract();
const failures = [];
const duban = await Duban.start();
const profile = mkdtempSync(join(tmpdir(), 'duban-chromium-'));
let dom = '';
try {
  // The contract it serves is this tree's openapi.yaml, as YAML and as JSON.
  const yamlText = readFileSync(SPEC_PATH, 'utf8');
  const servedYaml = await duban.request('GET', '/openapi.yaml');
  if (servedYaml.status !== 200 || servedYaml.body !== yamlText) failures.push(`GET /openapi.yaml (${servedYaml.status}) is not this tree's openapi.yaml: rebuild duban`);
  const servedJson = await duban.request('GET', '/openapi.json');
  if (servedJson.status !== 200 || !isDeepStrictEqual(JSON.parse(servedJson.body || 'null'), parse(yamlText)))
    failures.push(`GET /openapi.json (${servedJson.status}) is not openapi.yaml converted`);
  const page = await duban.request('GET', '/docs');
  if (page.status !== 200) failures.push(`GET /docs answered ${page.status}: ${page.body.slice(0, 300)}`);
  const r = spawnSync(browser, [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--disable-quic', '--disable-extensions', '--disable-dev-shm-usage',
    `--user-data-dir=${profile}`, '--virtual-time-budget=20000', '--dump-dom', `${duban.base}/docs`,
  ], { encoding: 'utf8', timeout: 120000, maxBuffer: 64 << 20 });
  dom = r.stdout || '';
  if (r.status !== 0 || !dom) failures.push(`chromium exited with ${r.status} ${r.signal || ''}: ${(r.stderr || '').split('\n').slice(-5).join(' | ')}`);
} finally {
  rmSync(profile, { recursive: true, force: true });
  const rc = await duban.stop();
  if (rc !== 0) failures.push(`duban exited with ${rc}`);
}

const shown = new Set([...dom.matchAll(/opblock-summary-operation-id[^>]*>([^<]+)</g)].map((m) => m[1].trim()));
const expected = contract.ops.map((o) => o.op.operationId);
const missing = expected.filter((id) => !shown.has(id));
console.log(`Swagger UI lists ${shown.size} operations; openapi.yaml has ${expected.length}`);
for (const id of missing) failures.push(`operation ${id} is not listed on /docs`);
if (!/duban \(督办\) API/.test(dom)) failures.push('the page does not show the title of openapi.yaml');
const log = duban.log();
for (const path of ['/docs/swagger-ui-bundle.js', '/docs/swagger-ui.css', '/docs/init.js', '/openapi.json']) {
  if (!new RegExp(`method=GET path=${path.replace(/[.]/g, '\\.')} status=200`).test(log)) failures.push(`the browser did not fetch ${path} from duban`);
}
for (const f of failures) console.log('FAIL ' + f);
if (failures.length) {
  console.log(dom ? `rendered page (first 2000 characters):\n${dom.slice(0, 2000)}` : 'no page was rendered');
  process.exit(1);
}
console.log('/docs renders every operation of openapi.yaml');
