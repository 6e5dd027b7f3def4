// Lints openapi.yaml: Redocly CLI (redocly.yaml) with no error and no
// warning, then Spectral (.spectral.yaml: problem+json errors,
// operationId, tags and x-roles everywhere) with no finding at all.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { SOURCE_DIR } from './lib/spec.mjs';

const bin = (name) => join(SOURCE_DIR, 'node_modules', '.bin', name);
const spec = process.argv[2] || join(SOURCE_DIR, 'openapi.yaml');
let failed = 0;

function run(label, cmd, args, ok) {
  const r = spawnSync(cmd, args, { cwd: SOURCE_DIR, encoding: 'utf8' });
  const output = (r.stdout || '') + (r.stderr || '');
  // Redocly's banner about Node 20's end of life is noise here.
  const shown = output.split('\n').filter((l) => !/[║╔╚]/.test(l)).join('\n').replace(/\n{3,}/g, '\n\n').trim();
  console.log(`== ${label}\n${shown}`);
  const good = r.status === 0 && ok(output);
  if (!good) {
    failed++;
    console.log(`FAIL ${label} (exit ${r.status})`);
  }
}

run('redocly lint', bin('redocly'), ['lint', '--config', join(SOURCE_DIR, 'redocly.yaml'), '--format', 'codeframe', spec],
  (out) => !/You have \d+ warning/.test(out));
run('spectral lint', bin('spectral'), ['lint', '--ruleset', join(SOURCE_DIR, '.spectral.yaml'), '--fail-severity', 'hint', spec],
  (out) => /No results with a severity of 'hint' or higher found/.test(out));
if (failed) process.exit(1);
console.log('openapi.yaml lints clean');
