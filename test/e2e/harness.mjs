// End-to-end harness: starts the built onlinenow binary on a free loopback
// port with a fresh database, and offers REST, JWT and Socket.IO helpers.
//
// Environment:
//   ONLINENOW_BIN      server binary (default ../../bin/onlinenow from here)
//   E2E_DATABASE_URL   a postgres URL of a maintenance database; when set, each
//                      server gets its own fresh database created from it
//                      (and dropped when the server is stopped for good)
//   E2E_SERVER_LOG=1   copy the server's output to this process's stderr
import { spawn, execFileSync } from 'node:child_process';
import { createHmac, createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { before, after, afterEach } from 'node:test';
import { io } from 'socket.io-client';

const here = dirname(fileURLToPath(import.meta.url));

export const BIN = resolve(here, process.env.ONLINENOW_BIN || '../../bin/onlinenow');
export const JWT_SECRET = 'e2e-test-secret-0123456789abcdef';
export const ORIGIN = 'http://localhost:5173';
export const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Lower-case hex SHA-256 room id of two user ids, as contract 3.3. */
export function roomId(a, b) {
  const [x, y] = a < b ? [a, b] : [b, a];
  return createHash('sha256').update(`${x}-${y}`).digest('hex');
}

function b64url(buf) {
  return Buffer.from(buf).toString('base64url');
}

/** An HS256 JWT {id, email, iat} (plus extra claims), like the original's @nestjs/jwt tokens. */
export function signToken({ id, email }, secret = JWT_SECRET, extra = {}) {
  const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const iat = Math.floor(Date.now() / 1000);
  const payload = b64url(JSON.stringify({ id, email, iat, exp: iat + 3600, ...extra }));
  const sig = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${sig}`;
}

async function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

// ---------------------------------------------------------------- Postgres

function pgURLWithDatabase(base, db) {
  const u = new URL(base);
  u.pathname = '/' + db;
  return u.toString();
}

function psql(url, sql) {
  execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-q', '-c', sql], { stdio: ['ignore', 'ignore', 'pipe'] });
}

function createPgDatabase() {
  const base = process.env.E2E_DATABASE_URL;
  const name = `onlinenow_e2e_${randomBytes(6).toString('hex')}`;
  psql(base, `CREATE DATABASE "${name}"`);
  return { name, url: pgURLWithDatabase(base, name) };
}

function dropPgDatabase(name) {
  psql(process.env.E2E_DATABASE_URL, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
}

// ------------------------------------------------------------------ server

/**
 * A running server process. `store` (temp dir, database) survives restarts:
 * pass a stopped or killed server's `store` to startServer to reuse it.
 */
export class Server {
  constructor({ port, proc, store, env }) {
    this.port = port;
    this.proc = proc;
    this.store = store;
    this.env = env;
    this.base = `http://127.0.0.1:${port}`;
    this.log = '';
    this.stopping = false;
    this.exit = new Promise((res) => {
      proc.on('exit', (code, signal) => {
        if (!this.stopping) {
          // A crash in the middle of a test: say so, with the server's last words.
          process.stderr.write(`\nonlinenow on :${port} exited unexpectedly (code ${code}, signal ${signal})\n${this.logTail(60)}\n`);
        }
        res({ code, signal });
      });
    });
    const keep = (chunk) => {
      this.log += chunk;
      if (this.log.length > 200_000) this.log = this.log.slice(-100_000);
      if (process.env.E2E_SERVER_LOG) process.stderr.write(chunk);
    };
    proc.stdout.setEncoding('utf8').on('data', keep);
    proc.stderr.setEncoding('utf8').on('data', keep);
    this.sockets = new Set();
  }

  logTail(n = 40) {
    return this.log.split('\n').slice(-n).join('\n');
  }

  /** REST call. Options: body (object = JSON, string = raw), headers, as (user: adds Bearer). */
  async request(method, path, { body, headers = {}, as, origin = ORIGIN } = {}) {
    const h = { ...headers };
    if (origin) h.Origin = origin;
    if (as) h.Authorization = `Bearer ${signToken(as)}`;
    let payload;
    if (body !== undefined) {
      if (typeof body === 'string' || body instanceof Uint8Array) {
        payload = body;
      } else {
        payload = JSON.stringify(body);
        h['Content-Type'] ??= 'application/json';
      }
    }
    const res = await fetch(this.base + path, { method, headers: h, body: payload, redirect: 'manual' });
    const text = await res.text();
    let json;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  }

  get(path, opts) { return this.request('GET', path, opts); }
  post(path, body, opts = {}) { return this.request('POST', path, { ...opts, body }); }
  put(path, body, opts = {}) { return this.request('PUT', path, { ...opts, body }); }
  patch(path, body, opts = {}) { return this.request('PATCH', path, { ...opts, body }); }
  del(path, opts) { return this.request('DELETE', path, opts); }

  /**
   * Signs in through GET /auth/dev?name= (AUTH_DEV_LOGIN=true) and returns
   * the 302 answer with its cookies as an object {id, accessToken, ...}.
   */
  async devSignIn(name) {
    const res = await this.get(`/auth/dev?name=${encodeURIComponent(name)}`);
    return { res, cookies: cookiesOf(res) };
  }

  /** POST /users with a unique email, intraId and name; returns the created User JSON. */
  async createUser(name) {
    const tag = randomBytes(4).toString('hex');
    const n = `${name || 'user'}_${tag}`;
    const res = await this.post('/users', { email: `${n}@example.test`, intraId: String(parseInt(tag, 16)), name: n });
    assert.equal(res.status, 201, `POST /users: ${res.status} ${res.text}`);
    assert.ok(res.json && UUID.test(res.json.id), `POST /users body: ${res.text}`);
    return res.json;
  }

  async createUsers(...names) {
    const out = [];
    for (const n of names) out.push(await this.createUser(n));
    return out;
  }

  /** a requests b, b accepts: an ACCEPTED Friend row (userId a, friendId b). */
  async befriend(a, b) {
    const r1 = await this.post('/users/friend', { friendShipStatus: 'PENDING', userId: a.id, friendId: b.id }, { as: a });
    assert.equal(r1.status, 201, `POST /users/friend: ${r1.status} ${r1.text}`);
    const r2 = await this.put(`/users/${a.id}/friend/${b.id}`, { friendShipStatus: 'ACCEPTED', userId: a.id, friendId: b.id }, { as: b });
    assert.equal(r2.status, 200, `PUT /users/:a/friend/:b: ${r2.status} ${r2.text}`);
    return r2.json;
  }

  /** blocker blocks blocked. */
  async block(blocker, blocked) {
    const r = await this.post('/users/blockedUser', { userId: blocker.id, blockedUserId: blocked.id }, { as: blocker });
    assert.equal(r.status, 201, `POST /users/blockedUser: ${r.status} ${r.text}`);
    return r.json;
  }

  /**
   * Opens a Socket.IO client on namespace ns and resolves once connected;
   * rejects on connect_error. Every event received is logged in socket.events.
   */
  connect(ns, { auth, transports, extraHeaders, upgrade, timeout = 5000 } = {}) {
    const opts = { path: '/socket.io/', forceNew: true, reconnection: false, timeout };
    if (auth !== undefined) opts.auth = auth;
    if (transports) opts.transports = transports;
    if (extraHeaders) opts.extraHeaders = extraHeaders;
    if (upgrade !== undefined) opts.upgrade = upgrade;
    const socket = io(this.base + ns, opts);
    socket.events = [];
    socket.taken = new Map();
    socket.onAny((event, ...args) => socket.events.push({ event, args, at: Date.now() }));
    // Reserved events are not seen by onAny: keep the reason for failure messages.
    socket.on('disconnect', (reason) => {
      socket.disconnectReason = reason;
    });
    this.sockets.add(socket);
    return new Promise((res, rej) => {
      const t = setTimeout(() => {
        socket.close();
        rej(new Error(`connect ${ns}: timeout`));
      }, timeout + 1000);
      socket.once('connect', () => {
        clearTimeout(t);
        res(socket);
      });
      socket.once('connect_error', (err) => {
        clearTimeout(t);
        socket.close();
        rej(err);
      });
    });
  }

  /** Connects as user in the given auth mode (strict: JWT; compat: auth.userId). */
  connectAs(ns, user, mode, extra = {}) {
    const auth = mode === 'strict' ? { token: signToken(user) } : { userId: user.id };
    return this.connect(ns, { ...extra, auth });
  }

  closeSockets() {
    for (const s of this.sockets) s.close();
    this.sockets.clear();
  }

  /** SIGTERM and wait; returns {code, signal}. */
  async terminate(ms = 10_000, { keepSockets = false } = {}) {
    if (!keepSockets) this.closeSockets();
    this.stopping = true;
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return this.exit;
    this.proc.kill('SIGTERM');
    let timer;
    const t = new Promise((r) => {
      timer = setTimeout(() => r('timeout'), ms);
    });
    const r = await Promise.race([this.exit, t]);
    clearTimeout(timer);
    if (r === 'timeout') {
      this.proc.kill('SIGKILL');
      await this.exit;
    }
    return r;
  }

  /** SIGKILL, as a crash: nothing is persisted by the server. */
  async kill() {
    this.stopping = true;
    this.proc.kill('SIGKILL');
    const r = await this.exit;
    this.closeSockets();
    return r;
  }

  /**
   * Graceful stop; asserts exit code 0 within 10 s, then removes the store.
   * keepSockets: leave the clients connected, so the server must close them.
   */
  async stop({ keepStore = false, keepSockets = false } = {}) {
    const r = await this.terminate(10_000, { keepSockets });
    this.closeSockets();
    try {
      assert.notEqual(r, 'timeout', `server did not exit within 10 s of SIGTERM\n${this.logTail()}`);
      assert.deepEqual(r, { code: 0, signal: null }, `server exit after SIGTERM\n${this.logTail()}`);
    } finally {
      if (!keepStore) destroyStore(this.store);
    }
  }
}

/** The cookies a response sets, as {name: value}. */
export function cookiesOf(res) {
  const out = {};
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(';');
    const i = pair.indexOf('=');
    out[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return out;
}

function newStore() {
  const dir = mkdtempSync(join(tmpdir(), 'onlinenow-e2e-'));
  const store = { dir };
  if (process.env.E2E_DATABASE_URL) store.pg = createPgDatabase();
  return store;
}

export function destroyStore(store) {
  if (!store || store.destroyed) return;
  store.destroyed = true;
  try {
    if (store.pg) dropPgDatabase(store.pg.name);
  } finally {
    rmSync(store.dir, { recursive: true, force: true });
  }
}

/**
 * Starts the server. Options: authMode (strict|compat), grace (PRESENCE_GRACE),
 * store (reuse a previous server's temp dir and database), env (extra vars).
 */
export async function startServer(opts = {}) {
  const store = opts.store ?? newStore();
  // The free port is only probed, so another process may take it before the
  // server binds: retry a start that died on its own.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce({ ...opts, store });
    } catch (err) {
      if (attempt >= 3 || !err.diedAtStart) {
        if (!opts.store) destroyStore(store);
        throw err;
      }
    }
  }
}

async function startOnce({ authMode = 'strict', grace = '1s', store, env = {} }) {
  const port = await freePort();
  const full = {
    PATH: process.env.PATH,
    HOME: process.env.HOME || store.dir,
    PORT: String(port),
    JWT_SECRET,
    AUTH_MODE: authMode,
    PRESENCE_GRACE: grace,
    CORS_ORIGINS: ORIGIN,
    APP_URI: 'http://localhost',
    // Strict mode creates accounts only by signing in; the development
    // sign-in (which also opens POST /users) lets createUser work there.
    AUTH_DEV_LOGIN: 'true',
    ...env,
  };
  if (store.pg) full.DATABASE_URL = store.pg.url;
  else full.SQLITE_PATH = join(store.dir, 'db.sqlite');
  // cwd is the temp dir: no stray .env is read and ./data stays there.
  const proc = spawn(BIN, [], { cwd: store.dir, env: full, stdio: ['ignore', 'pipe', 'pipe'] });
  const srv = new Server({ port, proc, store, env: full });
  const spawnErr = new Promise((_, rej) => proc.on('error', rej));
  spawnErr.catch(() => {}); // observed in the loop below; never unhandled
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      srv.stopping = true;
      const err = new Error(`server exited during start (${proc.exitCode ?? proc.signalCode})\n${srv.logTail()}`);
      err.diedAtStart = true;
      throw err;
    }
    try {
      const res = await Promise.race([fetch(srv.base + '/', { headers: { Origin: ORIGIN } }), spawnErr]);
      await res.text();
      if (res.status === 200) return srv;
    } catch (err) {
      if (err && err.code === 'ENOENT') throw new Error(`server binary not found: ${BIN} (build it with go build -o bin/onlinenow .)`);
    }
    if (Date.now() > deadline) {
      srv.stopping = true;
      proc.kill('SIGKILL');
      throw new Error(`server did not answer GET / within 20 s\n${srv.logTail()}`);
    }
    await sleep(50);
  }
}

// ------------------------------------------------------------ socket events

function untaken(socket, event) {
  const skip = socket.taken.get(event) || 0;
  return socket.events.filter((e) => e.event === event).slice(skip);
}

/**
 * Resolves with the args array of the next occurrence of event on socket that
 * no earlier waitFor returned (occurrences before the call count too).
 */
export async function waitForArgs(socket, event, ms = 3000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const [first] = untaken(socket, event);
    if (first) {
      socket.taken.set(event, (socket.taken.get(event) || 0) + 1);
      return first.args;
    }
    if (Date.now() > deadline) {
      const seen = socket.events.map((e) => e.event).join(', ') || 'nothing';
      const state = socket.connected
        ? `connected over ${socket.io.engine?.transport?.name}`
        : `disconnected: ${socket.disconnectReason ?? 'never connected'}`;
      throw new assert.AssertionError({ message: `no "${event}" within ${ms} ms on ${socket.nsp} (received: ${seen}; ${state})` });
    }
    await sleep(10);
  }
}

/** Like waitForArgs, but resolves with the first argument (the payload). */
export async function waitFor(socket, event, ms = 3000) {
  const args = await waitForArgs(socket, event, ms);
  return args[0];
}

/**
 * Asserts that none of the sockets gets event (any event when event is
 * omitted, except the names in ignore) that no waitFor took, during ms.
 */
export async function expectNone(sockets, event, ms = 300, { ignore = [] } = {}) {
  const list = Array.isArray(sockets) ? sockets : [sockets];
  await sleep(ms);
  for (const s of list) {
    const names = event ? [event] : [...new Set(s.events.map((e) => e.event))].filter((n) => !ignore.includes(n));
    const extra = names.flatMap((n) => untaken(s, n));
    assert.deepEqual(
      extra.map((e) => [e.event, ...e.args]),
      [],
      `unexpected ${event ? `"${event}"` : 'events'} on ${s.nsp}`,
    );
  }
}

/** Marks everything received so far as taken (e.g. the connect-time noise). */
export function drain(...sockets) {
  for (const s of sockets) {
    const counts = new Map();
    for (const e of s.events) counts.set(e.event, (counts.get(e.event) || 0) + 1);
    s.taken = counts;
  }
}

/** Resolves when socket is disconnected (or already is). */
export function closed(socket) {
  if (socket.disconnected) return Promise.resolve();
  return new Promise((r) => socket.once('disconnect', () => r()));
}

/** A unique uuid that is no user. */
export const unknownId = () => randomUUID();

/** Asserts the `exception` contract shape and returns the message. */
export function assertException(payload) {
  assert.equal(typeof payload, 'object');
  assert.deepEqual(Object.keys(payload).sort(), ['message', 'status']);
  assert.equal(payload.status, 'error');
  assert.equal(typeof payload.message, 'string');
  assert.ok(payload.message.length > 0, 'exception message is empty');
  return payload.message;
}

// ------------------------------------------------------------ shapes

/** The exact key set of User JSON (contract 2.2 less twoFactorAuthSecret, plus lastSeenAt). */
export const USER_KEYS = ['Avatar', 'created_at', 'email', 'id', 'intraId', 'isAuth', 'isTwoFactorEnabled', 'lastSeenAt', 'name', 'status', 'updated_at'];

export function assertUser(u, expect = {}) {
  assert.ok(u && typeof u === 'object', `not a User: ${JSON.stringify(u)}`);
  assert.deepEqual(Object.keys(u).sort(), USER_KEYS);
  assert.ok(!('twoFactorAuthSecret' in u));
  assert.match(u.id, UUID);
  assert.match(u.created_at, ISO_MS);
  assert.match(u.updated_at, ISO_MS);
  assert.ok(u.lastSeenAt === null || ISO_MS.test(u.lastSeenAt), `lastSeenAt: ${u.lastSeenAt}`);
  assert.ok(['ONLINE', 'OFFLINE', 'INAGAME'].includes(u.status), `status: ${u.status}`);
  assert.equal(typeof u.isAuth, 'boolean');
  assert.equal(typeof u.isTwoFactorEnabled, 'boolean');
  for (const [k, v] of Object.entries(expect)) assert.deepEqual(u[k], v, `User.${k}`);
}

/**
 * Registers before/after hooks that start a server for the enclosing
 * describe (or file) and stop it (asserting a clean exit). Returns a holder
 * whose .srv is the server once started.
 */
export function useServer(opts) {
  const ctx = {};
  before(async () => {
    ctx.srv = await startServer(opts);
  });
  afterEach(() => ctx.srv?.closeSockets());
  after(async () => {
    if (ctx.srv) await ctx.srv.stop();
  });
  return ctx;
}
