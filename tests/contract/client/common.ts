// What the client programs share: the client generated from openapi.yaml
// (openapi-typescript's `paths` types, openapi-fetch calling duban with
// them) for the duban that DUBAN_URL and DUBAN_TOKEN name, a check that
// fails the run, and the way a program runs.
import createClient from 'openapi-fetch';
import type { paths } from './schema.js';

declare const process: { env: Record<string, string | undefined>; exitCode: number };

const base = process.env.DUBAN_URL;
const token = process.env.DUBAN_TOKEN;
if (!base || !token) throw new Error('DUBAN_URL and DUBAN_TOKEN must be set');

export const client = createClient<paths>({ baseUrl: base, headers: { Authorization: `Bearer ${token}` } });

export function check(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`failed: ${what}`);
}

/* Runs a program; a failure is printed and fails the process. */
export function run(program: () => Promise<void>): void {
  program().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
