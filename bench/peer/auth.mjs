// Bearer tokens, checked against duban's api_token table (the SHA-256 of
// the secret), with a cache like duban's: an entry lives 60 s and is
// trusted only while a listener follows the `duban_tokens` notifications,
// any of which (or the listener's loss) empties the cache.
import pg from 'pg';
import { tokenBySecret } from './sql.mjs';

const PREFIX = 'dbn_';
const TTL_MS = 60_000;
const MAX_ENTRIES = 1024;
const RECONNECT_MS = 1000;

export class Tokens {
  constructor(pool, clientConfig, log) {
    this.pool = pool;
    this.clientConfig = clientConfig;
    this.log = log;
    this.cache = new Map();
    this.generation = 0;
    this.listening = false;
    this.stopped = false;
    this.listener = null;
  }

  /** Starts following token changes; resolves once the first attempt ends. */
  async start() {
    const client = new pg.Client(this.clientConfig);
    const lost = () => {
      if (this.listener !== client) return;
      this.forget(false);
      this.listener = null;
      client.end().catch(() => {});
      if (!this.stopped) setTimeout(() => this.start(), RECONNECT_MS).unref();
    };
    client.on('notification', () => this.forget(true));
    client.on('error', (err) => {
      this.log.warn({ err: err.message }, 'token listener lost its connection');
      lost();
    });
    client.on('end', lost);
    this.listener = client;
    try {
      await client.connect();
      await client.query('LISTEN duban_tokens');
      this.forget(true);
    } catch (err) {
      this.log.warn({ err: err.message }, 'token listener cannot connect');
      lost();
    }
  }

  async stop() {
    this.stopped = true;
    const client = this.listener;
    this.listener = null;
    if (client) await client.end().catch(() => {});
  }

  forget(listening) {
    this.cache.clear();
    this.generation++;
    this.listening = listening;
  }

  /** The actor {id, name, role, unitId} of a bearer secret, or null when
   * the token is unknown, malformed, expired or revoked. */
  async authenticate(secret) {
    if (!secret.startsWith(PREFIX) || secret.length > 100) return null;
    const now = Date.now();
    const hit = this.listening && this.cache.get(secret);
    if (hit && now - hit.loadedAt < TTL_MS && (!hit.actor.expiresAt || now < hit.actor.expiresAt)) return hit.actor;
    const generation = this.generation;
    const { rows } = await this.pool.query(tokenBySecret(secret));
    if (rows.length !== 1) return null;
    const r = rows[0];
    const actor = { id: r.id, name: r.name, role: r.role, unitId: Number(r.unit_id),
      expiresAt: Number(r.expires_at) * 1000 };
    if (generation === this.generation) {
      if (this.cache.size >= MAX_ENTRIES) this.cache.clear();
      this.cache.set(secret, { actor, loadedAt: now });
    }
    return actor;
  }
}
