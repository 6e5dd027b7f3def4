// The real duban for a contract check, started as the e2e harness does: a
// fresh database on the test cluster ($DUBAN_TEST_CLUSTER, via scripts/pg
// url), `duban serve` on a free port, and an admin token from
// `duban token create`. Nothing is mocked.
import { execFileSync, spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SOURCE_DIR } from './spec.mjs';

export const DUBAN_BIN = process.env.DUBAN_BIN || 'duban';

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function clusterUrl() {
  const cluster = process.env.DUBAN_TEST_CLUSTER;
  if (!cluster) throw new Error('DUBAN_TEST_CLUSTER is not set (run through ctest)');
  return execFileSync(join(SOURCE_DIR, 'scripts', 'pg'), ['url', cluster], { encoding: 'utf8' }).trim();
}

function psql(url, sql) {
  execFileSync('psql', [url, '-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', sql], { encoding: 'utf8' });
}

export class Duban {
  /* Starts duban on a database of its own; env adds to the server's environment. */
  static async start(env = {}) {
    const d = new Duban();
    d.adminUrl = clusterUrl();
    d.dbName = 'c_' + randomBytes(6).toString('hex');
    psql(d.adminUrl, `CREATE DATABASE ${d.dbName}`);
    d.dbUrl = d.adminUrl.replace(/\/[^/]*$/, '/' + d.dbName);
    d.port = await freePort();
    d.base = `http://127.0.0.1:${d.port}`;
    d.logPath = join(tmpdir(), `duban-contract-${d.dbName}.log`);
    const log = openSync(d.logPath, 'w');
    d.proc = spawn(DUBAN_BIN, ['serve'], {
      env: { ...process.env, DUBAN_DATABASE_URL: d.dbUrl, DUBAN_LISTEN: `127.0.0.1:${d.port}`, DUBAN_LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', log, log],
    });
    d.exited = new Promise((resolve) => d.proc.once('exit', (code, signal) => resolve({ code, signal })));
    const deadline = Date.now() + 30000;
    for (;;) {
      if (d.proc.exitCode !== null) throw new Error('duban exited at start:\n' + d.log());
      try {
        if ((await fetch(d.base + '/healthz')).status === 200) break;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) throw new Error('duban did not start:\n' + d.log());
      await new Promise((r) => setTimeout(r, 50));
    }
    d.token = d.command('token', 'create', '--role', 'admin', '--name', 'prop').trim();
    return d;
  }

  command(...args) {
    return execFileSync(DUBAN_BIN, args, { env: { ...process.env, DUBAN_DATABASE_URL: this.dbUrl }, encoding: 'utf8' });
  }

  log() {
    try {
      return readFileSync(this.logPath, 'utf8');
    } catch {
      return '';
    }
  }

  /* Sends a request (node:http, so that any method may carry a body and
   * any header may be sent); body is a string, Buffer or undefined.
   * Returns {status, headers (lowercased names), content_type, body (text)}. */
  request(method, path, { headers = {}, body } = {}) {
    const hasAuth = Object.keys(headers).some((h) => h.toLowerCase() === 'authorization');
    const all = hasAuth || !this.token ? { ...headers } : { Authorization: 'Bearer ' + this.token, ...headers };
    for (const [k, v] of Object.entries(all)) if (v === undefined) delete all[k];
    // node frames a GET's or DELETE's body only when told its length.
    if (body !== undefined && !Object.keys(all).some((h) => h.toLowerCase() === 'content-length'))
      all['Content-Length'] = Buffer.byteLength(body);
    this.agent ||= new Agent({ keepAlive: true, maxSockets: 4 });
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: this.port, method, path, headers: all, agent: this.agent }, (res) => {
        const chunks = [];
        const answer = () => resolve({
          status: res.statusCode,
          headers: res.headers,
          content_type: res.headers['content-type'] ?? null,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        // an event stream never ends: its first block (retry:) is the answer
        const stream = /^text\/event-stream/.test(res.headers['content-type'] ?? '');
        res.on('data', (c) => {
          chunks.push(c);
          if (stream && Buffer.concat(chunks).includes('\n\n')) {
            answer();
            req.destroy();
          }
        });
        res.on('end', answer);
        res.on('error', reject);
      });
      req.setTimeout(30000, () => req.destroy(new Error(`${method} ${path}: no answer in 30 s`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  async json(method, path, value, headers = {}) {
    const r = await this.request(method, path, { headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(value) });
    r.json = r.body ? JSON.parse(r.body) : undefined;
    return r;
  }

  /* Stops duban (SIGTERM), drops its database; returns duban's exit code. */
  async stop() {
    this.agent?.destroy();
    if (this.proc && this.proc.exitCode === null) {
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), 15000);
      await this.exited;
      clearTimeout(timer);
    }
    try {
      psql(this.adminUrl, `DROP DATABASE IF EXISTS ${this.dbName} WITH (FORCE)`);
    } catch (e) {
      console.error('could not drop', this.dbName, e.message);
    }
    return this.proc ? this.proc.exitCode : 0;
  }
}
