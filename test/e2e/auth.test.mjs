// Sign-in and identity (issue 6) end to end, AUTH_MODE=strict: the
// development sign-in ends like the OAuth callback, its cookies work for
// REST and sockets, GET /auth goes to the provider, impersonation over
// sockets is refused, and avatars are uploaded and served safely.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { useServer, signToken, waitFor, expectNone, assertException, sleep, ORIGIN, JWT_SECRET, UUID } from './harness.mjs';

const ctx = useServer({ authMode: 'strict', env: { CLIENT_ID: 'uid-e2e', SECRET: 'secret-e2e' } });

/** A valid 2x2 PNG (RGB), built by hand. */
function tinyPNG() {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(2, 0);
  ihdr.writeUInt32BE(2, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const raw = Buffer.from([0, 255, 0, 0, 0, 255, 0, 0, 0, 0, 255, 255, 255, 255]);
  return Buffer.concat([
    Buffer.from('\x89PNG\r\n\x1a\n', 'binary'),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

async function upload(srv, userId, { as, field = 'file', name = 'me.png', type = 'image/png', data }) {
  const form = new FormData();
  form.append(field, new Blob([data], { type }), name);
  const headers = { Origin: ORIGIN };
  if (as) headers.Authorization = `Bearer ${signToken(as)}`;
  const res = await fetch(`${srv.base}/users/${userId}/upload`, { method: 'POST', body: form, headers });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, text, json };
}

describe('sign-in', () => {
  test('GET /auth: 302 to 42 with client_id, redirect_uri and a state kept in a cookie', async () => {
    const res = await ctx.srv.get('/auth');
    assert.equal(res.status, 302);
    const loc = new URL(res.headers.get('location'));
    assert.equal(loc.origin + loc.pathname, 'https://api.intra.42.fr/oauth/authorize');
    assert.equal(loc.searchParams.get('client_id'), 'uid-e2e');
    assert.equal(loc.searchParams.get('redirect_uri'), `http://localhost:${ctx.srv.port}/auth/callback`);
    const state = loc.searchParams.get('state');
    assert.ok(state && state.length > 20);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('oauthState='));
    assert.ok(cookie && cookie.includes(state) && /HttpOnly/i.test(cookie), cookie);
    assert.ok(!res.headers.get('location').includes('secret-e2e'));
    // The callback without that cookie is refused at once.
    const cb = await ctx.srv.get(`/auth/callback?code=x&state=${encodeURIComponent(state)}`);
    assert.equal(cb.status, 401);
    assert.match(cb.json.message, /state/);
  });

  test('GET /auth/dev ends like the callback; its cookies work for REST and sockets', async () => {
    const { srv } = ctx;
    const { res, cookies } = await srv.devSignIn('dev_alice');
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), 'http://localhost:5173/setting');
    assert.match(cookies.id, UUID);
    const set = res.headers.getSetCookie();
    for (const name of ['id', 'accessToken']) {
      const c = set.find((x) => x.startsWith(`${name}=`));
      assert.ok(/Path=\//.test(c) && /SameSite=Lax/i.test(c) && !/HttpOnly/i.test(c), c);
    }
    const payload = JSON.parse(Buffer.from(cookies.accessToken.split('.')[1], 'base64url'));
    assert.equal(payload.id, cookies.id);
    assert.ok(payload.exp - payload.iat >= 7 * 24 * 3600 - 5, 'JWT_TTL default 7 days');

    // The same user again.
    assert.equal((await srv.devSignIn('dev_alice')).cookies.id, cookies.id);

    // REST with the cookie alone (as the frontend's credentials: 'include').
    const inbox = await srv.get(`/chat/${cookies.id}`, { headers: { Cookie: `accessToken=${cookies.accessToken}` } });
    assert.equal(inbox.status, 200);
    assert.deepStrictEqual(inbox.json, []);
    // Sockets with the token.
    const s = await srv.connect('/chatGateway', { auth: { token: cookies.accessToken } });
    assert.ok(s.connected);
  });
});

describe('impersonation over sockets (strict)', () => {
  test('a claimed userId, a forged or expired token: the connection is refused', async () => {
    const { srv } = ctx;
    const [victim] = await srv.createUsers('victim');
    const cases = [
      { userId: victim.id },
      { token: signToken(victim, 'not-the-server-secret-0123456789') },
      { token: signToken(victim, JWT_SECRET, { exp: Math.floor(Date.now() / 1000) - 60 }) },
      { token: signToken({ id: '00000000-0000-4000-8000-000000000000', email: 'x' }) },
    ];
    for (const auth of cases) {
      await assert.rejects(srv.connect('/chatGateway', { auth }), JSON.stringify(Object.keys(auth)));
      await assert.rejects(srv.connect('/appGateway', { auth }));
    }
  });

  test('an identified socket cannot write or read as another user', async () => {
    const { srv } = ctx;
    const [mallory, a, b] = await srv.createUsers('mallory', 'a', 'b');
    const m = await srv.connectAs('/chatGateway', mallory, 'strict');
    const bChat = await srv.connectAs('/chatGateway', b, 'strict');
    await sleep(50);
    m.emit('message', { content: 'forged', senderId: a.id, recieverId: b.id });
    assertException(await waitFor(m, 'exception'));
    m.emit('joinRoom', { senderId: a.id, recieverId: b.id });
    assertException(await waitFor(m, 'exception'));
    // Claiming another id next to a valid token is refused too.
    await assert.rejects(srv.connect('/chatGateway', { auth: { token: signToken(mallory), userId: a.id } }));
    await expectNone(bChat, 'getMessage');
    assert.deepStrictEqual((await srv.get(`/chat/${b.id}`, { as: b })).json, []);
    // And REST says 403 to the same attempts.
    assert.equal((await srv.post('/chat', { content: 'forged', senderId: a.id, recieverId: b.id }, { as: mallory })).status, 403);
    assert.equal((await srv.get(`/chat/${b.id}`, { as: mallory })).status, 403);
  });
});

describe('avatars', () => {
  test('a PNG is stored under a server-chosen name and served safely; HTML and SVG are refused', async () => {
    const { srv } = ctx;
    const [a, mallory] = await srv.createUsers('a', 'mallory');
    const res = await upload(srv, a.id, { as: a, data: tinyPNG() });
    assert.equal(res.status, 201, res.text);
    assert.deepStrictEqual(Object.keys(res.json), ['statusCode', 'data']);
    assert.equal(res.json.statusCode, 200);
    const m = res.json.data.match(new RegExp(`^http://localhost:${srv.port}/([0-9a-f]{32}\\.png)$`));
    assert.ok(m, res.json.data);
    assert.equal((await srv.get(`/users/${a.id}/image`)).json.Avatar, res.json.data);

    for (const path of [`/${m[1]}`, `/public/${m[1]}`]) {
      const got = await fetch(srv.base + path);
      assert.equal(got.status, 200);
      assert.equal(got.headers.get('content-type'), 'image/png');
      assert.equal(got.headers.get('x-content-type-options'), 'nosniff');
      assert.match(got.headers.get('content-security-policy'), /^default-src 'none'/);
      const body = Buffer.from(await got.arrayBuffer());
      assert.equal(body.subarray(0, 8).toString('binary'), '\x89PNG\r\n\x1a\n');
    }

    for (const [label, opts, status] of [
      ['HTML as image/png', { name: 'x.html', data: Buffer.from('<script>alert(document.cookie)</script>') }, 400],
      ['SVG', { name: 'x.svg', type: 'image/svg+xml', data: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>') }, 400],
      ['wrong field', { field: 'avatar', data: tinyPNG() }, 400],
      ['oversized', { data: Buffer.concat([tinyPNG(), Buffer.alloc(3 << 20)]) }, 413],
    ]) {
      const r = await upload(srv, a.id, { as: a, ...opts });
      assert.equal(r.status, status, `${label}: ${r.text}`);
    }
    assert.equal((await upload(srv, a.id, { as: mallory, data: tinyPNG() })).status, 403);
    assert.equal((await upload(srv, a.id, { data: tinyPNG() })).status, 401);
    assert.equal((await srv.get(`/users/${a.id}/image`)).json.Avatar, res.json.data, 'refused uploads change nothing');
  });
});
