// Engine.IO / Socket.IO transports (contract 4.0, Appendix A): polling only,
// websocket only, polling -> websocket upgrade, the raw polling handshake,
// and sockets without identity.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, waitFor, expectNone, drain, assertException, roomId, ORIGIN, sleep } from './harness.mjs';

const ctx = useServer({ authMode: 'strict' });

const MODES = {
  'polling only': { transports: ['polling'] },
  'websocket only': { transports: ['websocket'] },
  'polling then upgrade': { transports: ['polling', 'websocket'] },
};

/** Resolves once the engine runs over websocket. */
function upgraded(socket) {
  const engine = socket.io.engine;
  if (engine.transport.name === 'websocket') return Promise.resolve();
  return new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error('no upgrade to websocket within 5 s')), 5000);
    engine.once('upgrade', () => {
      clearTimeout(t);
      res();
    });
  });
}

for (const [label, opts] of Object.entries(MODES)) {
  describe(label, () => {
    test('/appGateway: connects and a relay round-trips to both users', async () => {
      const { srv } = ctx;
      const [a, b] = await srv.createUsers('a', 'b');
      const sa = await srv.connectAs('/appGateway', a, 'strict', opts);
      const sb = await srv.connectAs('/appGateway', b, 'strict', opts);
      assert.equal(typeof sa.id, 'string');
      assert.ok(sa.id.length > 0);
      if (label === 'polling then upgrade') {
        await upgraded(sa);
        await upgraded(sb);
      }
      const want = opts.transports.length === 1 ? opts.transports[0] : 'websocket';
      assert.equal(sa.io.engine.transport.name, want);
      drain(sa, sb);
      const payload = { userId: a.id, friendId: b.id, stats: 'RequestFriendShip' };
      sa.emit('RequestFriendShip', payload);
      assert.deepStrictEqual(await waitFor(sa, 'RequestFriendShip'), payload);
      assert.deepStrictEqual(await waitFor(sb, 'RequestFriendShip'), payload);
      await expectNone([sa, sb], 'RequestFriendShip');
    });

    test('/chatGateway: connects and joinRoom answers joined', async () => {
      const { srv } = ctx;
      const [a, b] = await srv.createUsers('a', 'b');
      const sa = await srv.connectAs('/chatGateway', a, 'strict', opts);
      if (label === 'polling then upgrade') await upgraded(sa);
      drain(sa);
      sa.emit('joinRoom', { senderId: a.id, recieverId: b.id });
      assert.deepStrictEqual(await waitFor(sa, 'joined'), { roomName: roomId(a.id, b.id) });
    });
  });
}

describe('socket without identity', () => {
  for (const [label, auth] of [['empty auth', {}], ['no auth at all', undefined]]) {
    test(`${label}: connects, receives nothing, its emits get exception`, async () => {
      const { srv } = ctx;
      const [a, b] = await srv.createUsers('a', 'b');
      await srv.befriend(a, b);
      const anonApp = await srv.connect('/appGateway', { auth });
      const anonChat = await srv.connect('/chatGateway', { auth });
      assert.equal(typeof anonApp.id, 'string');
      assert.equal(typeof anonChat.id, 'string');

      // Presence and relays of identified users do not reach it.
      const sb = await srv.connectAs('/appGateway', b, 'strict');
      const sa = await srv.connectAs('/appGateway', a, 'strict');
      sa.emit('RequestFriendShip', { userId: a.id, friendId: b.id, stats: 'RequestFriendShip' });
      await waitFor(sb, 'RequestFriendShip');

      // Its own emits are refused with exception, and nothing is relayed or stored.
      drain(sa, sb);
      anonApp.emit('RequestFriendShip', { userId: a.id, friendId: b.id, stats: 'RequestFriendShip' });
      assertException(await waitFor(anonApp, 'exception'));
      anonChat.emit('message', { content: 'from nobody', senderId: a.id, recieverId: b.id });
      assertException(await waitFor(anonChat, 'exception'));
      anonChat.emit('joinRoom', { senderId: a.id, recieverId: b.id });
      assertException(await waitFor(anonChat, 'exception'));

      await expectNone([anonApp, anonChat]);
      await expectNone([sa, sb], 'RequestFriendShip', 0);
      await expectNone([sa, sb], 'exception', 0);
      const inbox = await srv.get(`/chat/${b.id}`, { as: b });
      assert.equal(inbox.status, 200);
      assert.deepStrictEqual(inbox.json, []);
      const room = await srv.get(`/chat?hashedRoomId=${roomId(a.id, b.id)}`, { as: a });
      assert.deepStrictEqual(room.json, []);
    });
  }
});

describe('raw Engine.IO polling handshake', () => {
  // An Engine.IO OPEN packet: "0" + JSON. The original writes "sid" first
  // (Appendix A); clients parse the JSON, so key order is not asserted.
  function parseOpen(text) {
    assert.ok(text.startsWith('0{'), `open packet: ${text}`);
    const open = JSON.parse(text.slice(1));
    assert.equal(typeof open.sid, 'string', `open packet: ${text}`);
    assert.ok(open.sid.length > 0);
    return open;
  }

  test('GET /socket.io/?EIO=4&transport=polling opens a session with CORS', async () => {
    const res = await ctx.srv.get('/socket.io/?EIO=4&transport=polling');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), ORIGIN);
    const open = parseOpen(res.text);
    assert.equal(typeof open.sid, 'string');
    assert.deepStrictEqual(open.upgrades, ['websocket']);
    // Defaults of socket.io 4.7.2 (contract 4.0 and Appendix A).
    assert.equal(open.pingInterval, 25000);
    assert.equal(open.pingTimeout, 20000);
    assert.equal(open.maxPayload, 1000000);
  });

  test('b64=1 and no Origin (the frontend SSR) are accepted', async () => {
    const res = await ctx.srv.get(`/socket.io/?EIO=4&transport=polling&t=${Date.now()}&b64=1`, { origin: null });
    assert.equal(res.status, 200);
    const { sid } = parseOpen(res.text);

    // Namespace CONNECT with empty auth gets 40/<nsp>,{"sid":...} (never 44).
    const url = `/socket.io/?EIO=4&transport=polling&b64=1&sid=${encodeURIComponent(sid)}`;
    const post = await ctx.srv.post(url, '40/appGateway,', { origin: null, headers: { 'Content-Type': 'text/plain;charset=UTF-8' } });
    assert.equal(post.status, 200);
    assert.equal(post.text, 'ok');
    const got = await ctx.srv.get(url, { origin: null });
    assert.equal(got.status, 200);
    assert.match(got.text, /^40\/appGateway,\{"sid":"[^"]+"\}$/);
    await ctx.srv.post(url, '1', { origin: null, headers: { 'Content-Type': 'text/plain;charset=UTF-8' } });
  });

  test('Engine.IO v3 is refused (allowEIO3 false)', async () => {
    const res = await ctx.srv.get('/socket.io/?EIO=3&transport=polling');
    assert.equal(res.status, 400);
  });
});

test('the server keeps serving after abrupt client disconnects', async () => {
  const { srv } = ctx;
  const [a] = await srv.createUsers('a');
  for (let i = 0; i < 3; i++) {
    const s = await srv.connectAs('/chatGateway', a, 'strict', { transports: ['websocket'] });
    s.io.engine.transport.ws?.terminate?.();
  }
  await sleep(100);
  const res = await srv.get('/');
  assert.equal(res.status, 200);
  const s = await srv.connectAs('/appGateway', a, 'strict');
  assert.ok(s.connected);
});
