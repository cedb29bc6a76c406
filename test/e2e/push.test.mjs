// Issue 7, Web Push: the REST surface (/push/vapid-public-key,
// /push/subscriptions), the generated VAPID key kept across restarts, the
// "visibility" event of /appGateway, and same-origin socket connections
// from the server's own pages. The push leg itself (server -> push
// service, VAPID JWT, RFC 8291 encryption, 404/410/429, slow services) is
// tested in Go against a fake push service (gateways/push_test.go,
// services/push_test.go): the endpoints must be https.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createECDH, randomBytes } from 'node:crypto';
import { io } from 'socket.io-client';
import { useServer, startServer, destroyStore, signToken, waitFor, ISO_MS, UUID } from './harness.mjs';

const MODE = 'strict';
const ctx = useServer({ authMode: MODE });

const b64url = (buf) => Buffer.from(buf).toString('base64url');

/** A browser's PushSubscription.toJSON() at a fresh endpoint. */
function browserSubscription(name = 'phone') {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return {
    endpoint: `https://push.example.test/send/${name}-${randomBytes(6).toString('hex')}`,
    expirationTime: null,
    keys: { p256dh: b64url(ecdh.getPublicKey()), auth: b64url(randomBytes(16)) },
  };
}

function assertVapidKey(key) {
  assert.equal(typeof key, 'string');
  assert.match(key, /^[A-Za-z0-9_-]+$/);
  const raw = Buffer.from(key, 'base64url');
  assert.equal(raw.length, 65, 'an uncompressed P-256 point');
  assert.equal(raw[0], 4);
}

describe('VAPID public key', () => {
  test('is served, and the generated pair survives a restart', async () => {
    const srv1 = await startServer({ authMode: MODE });
    let srv2;
    try {
      const r1 = await srv1.get('/push/vapid-public-key');
      assert.equal(r1.status, 200);
      assert.deepStrictEqual(Object.keys(r1.json), ['publicKey']);
      assertVapidKey(r1.json.publicKey);
      await srv1.stop({ keepStore: true });
      srv2 = await startServer({ authMode: MODE, store: srv1.store });
      const r2 = await srv2.get('/push/vapid-public-key');
      assert.deepStrictEqual(r2.json, r1.json, 'same key after a restart');
      assert.ok(!srv1.log.includes('vapid_private_key=') || srv1.log.includes('vapid_private_key=[unset]'));
    } finally {
      if (srv2) await srv2.stop();
      else destroyStore(srv1.store);
    }
  });

  test('a configured pair is used as is', async () => {
    const srv0 = ctx.srv;
    const { json } = await srv0.get('/push/vapid-public-key');
    // Reuse a valid public key with a made-up private scalar: only the public half is served.
    const priv = b64url(randomBytes(32));
    const srv = await startServer({ authMode: MODE, env: { VAPID_PUBLIC_KEY: json.publicKey, VAPID_PRIVATE_KEY: priv } });
    try {
      assert.deepStrictEqual((await srv.get('/push/vapid-public-key')).json, json);
      assert.ok(!srv.log.includes(priv), 'the private key is never logged');
    } finally {
      await srv.stop();
    }
  });
});

describe('subscriptions', () => {
  test('create, replace, delete; exact shapes and errors', async () => {
    const { srv } = ctx;
    const [a, b] = await srv.createUsers('pa', 'pb');
    const sub = browserSubscription();

    const r = await srv.post('/push/subscriptions', sub, { as: a });
    assert.equal(r.status, 201, r.text);
    assert.deepStrictEqual(Object.keys(r.json), ['id', 'endpoint', 'createdAt']);
    assert.match(r.json.id, UUID);
    assert.equal(r.json.endpoint, sub.endpoint);
    assert.match(r.json.createdAt, ISO_MS);
    assert.ok(!r.text.includes(sub.keys.auth) && !r.text.includes(sub.keys.p256dh), 'keys are not echoed');

    // The same browser signs in as b: the endpoint moves to b, same row.
    const moved = await srv.post('/push/subscriptions', sub, { as: b });
    assert.equal(moved.status, 201);
    assert.equal(moved.json.id, r.json.id);
    assert.equal((await srv.del('/push/subscriptions', { body: { endpoint: sub.endpoint }, as: a })).status, 404);
    const del = await srv.del('/push/subscriptions', { body: { endpoint: sub.endpoint }, as: b });
    assert.equal(del.status, 200);
    assert.deepStrictEqual(del.json, { deleted: true });
    assert.equal((await srv.del('/push/subscriptions', { body: { endpoint: sub.endpoint }, as: b })).status, 404);
  });

  test('bad input is 400 with a reason; no caller is 401', async () => {
    const { srv } = ctx;
    const [a] = await srv.createUsers('pc');
    const good = browserSubscription();
    const cases = [
      [{ ...good, endpoint: 'http://push.example.test/x' }, 'endpoint must be an https URL'],
      [{ ...good, endpoint: 'not a url' }, 'endpoint must be an https URL'],
      [{ ...good, keys: { ...good.keys, p256dh: 'AAAA' } }, 'p256dh must be an uncompressed P-256 public key'],
      [{ ...good, keys: { ...good.keys, auth: b64url(randomBytes(8)) } }, 'auth must be 16 bytes, base64url'],
      [{ endpoint: good.endpoint }, 'p256dh'],
    ];
    for (const [body, reason] of cases) {
      const res = await srv.post('/push/subscriptions', body, { as: a });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.json.statusCode, 400);
      assert.ok(JSON.stringify(res.json.message).includes(reason), `${res.text} should say ${reason}`);
    }
    assert.equal((await srv.post('/push/subscriptions', '{', { as: a })).status, 400);
    assert.equal((await srv.del('/push/subscriptions', { body: {}, as: a })).status, 400);
    const anon = await srv.post('/push/subscriptions', good);
    assert.equal(anon.status, 401);
    assert.equal((await srv.del('/push/subscriptions', { body: { endpoint: good.endpoint } })).status, 401);
  });
});

describe('browser side and sockets', () => {
  test('icon and scripts are served', async () => {
    const { srv } = ctx;
    const icon = await fetch(srv.base + '/push/icon.png');
    assert.equal(icon.status, 200);
    assert.equal(icon.headers.get('content-type'), 'image/png');
    const png = Buffer.from(await icon.arrayBuffer());
    assert.deepStrictEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const sw = await fetch(srv.base + '/push/sw.js');
    assert.equal(sw.status, 200);
    assert.equal(sw.headers.get('service-worker-allowed'), '/');
    assert.match(sw.headers.get('content-type'), /^text\/javascript/);
  });

  test('visibility: ack for a boolean, exception otherwise', async () => {
    const { srv } = ctx;
    const [a] = await srv.createUsers('pv');
    const s = await srv.connectAs('/appGateway', a, MODE);
    assert.deepStrictEqual(await s.timeout(3000).emitWithAck('visibility', { hidden: true }), { status: 'ok' });
    assert.deepStrictEqual(await s.timeout(3000).emitWithAck('visibility', { hidden: false }), { status: 'ok' });
    for (const bad of [{ hidden: 'yes' }, {}, 'hidden']) {
      s.emit('visibility', bad);
      const ex = await waitFor(s, 'exception');
      assert.equal(ex.status, 'error');
      assert.ok(['hidden must be a boolean', 'payload must be an object'].includes(ex.message), ex.message);
    }
    const anon = await srv.connect('/appGateway', { auth: {} });
    anon.emit('visibility', { hidden: true });
    const ex = await waitFor(anon, 'exception');
    assert.equal(ex.status, 'error');
  });

  test("the server's own origin may open a WebSocket; a foreign origin may not", async () => {
    const { srv } = ctx;
    const [a] = await srv.createUsers('po');
    const open = (origin) => new Promise((resolve) => {
      const s = io(`${srv.base}/appGateway`, {
        forceNew: true, reconnection: false, transports: ['websocket'], timeout: 3000,
        auth: { token: signToken(a) }, extraHeaders: { Origin: origin },
      });
      s.on('connect', () => { s.close(); resolve('connected'); });
      s.on('connect_error', (err) => { s.close(); resolve(`refused: ${err.message}`); });
    });
    assert.equal(await open(srv.base), 'connected');
    assert.match(await open('http://evil.example'), /^refused/);
  });
});
