// Converts openapi.yaml to JSON for /openapi.json, refusing YAML that is
// ambiguous (duplicate keys) or not a mapping with the OpenAPI basics.
//   node cmake/openapi_to_json.mjs openapi.yaml out.json
import { readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: node cmake/openapi_to_json.mjs IN.yaml OUT.json');
  process.exit(2);
}
let doc;
try {
  doc = parse(readFileSync(input, 'utf8'), { uniqueKeys: true, strict: true, prettyErrors: true });
} catch (e) {
  console.error(`${input}: ${e.message}`);
  process.exit(1);
}
for (const key of ['openapi', 'info', 'paths', 'components']) {
  if (!doc || typeof doc !== 'object' || !(key in doc)) {
    console.error(`${input}: no top-level '${key}'`);
    process.exit(1);
  }
}
writeFileSync(output, JSON.stringify(doc) + '\n');
