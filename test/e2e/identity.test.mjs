// Socket identity (issue 2 section 4, contract 7-4): strict mode takes the
// user from a verified HS256 JWT (auth.token, accessToken cookie or
// Authorization: Bearer); compat mode trusts auth.userId. Impersonation
// through the handshake or through payload fields is refused in both.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, signToken, waitFor, expectNone, drain, assertException, roomId, sleep } from './harness.mjs';

/**
 * Proves who socket s is: it emits a relay naming (a, b); an identified a or
 * b gets the echo, anyone else gets exception.
 */
async function actsAs(s, a, b, peer) {
  drain(s, peer);
  const payload = { userId: a.id, friendId: b.id, stats: 'RequestFriendShip' };
  s.emit('RequestFriendShip', payload);
  assert.deepStrictEqual(await waitFor(s, 'RequestFriendShip'), payload);
  assert.deepStrictEqual(await waitFor(peer, 'RequestFriendShip'), payload);
}

function connectFails(p) {
  return p.then(
    (s) => {
      s.close();
      assert.fail('connection was accepted');
    },
    (err) => {
      assert.ok(err instanceof Error);
      return err;
    },
  );
}

describe('AUTH_MODE=strict', () => {
  const ctx = useServer({ authMode: 'strict' });

  async function pair() {
    const [a, b] = await ctx.srv.createUsers('a', 'b');
    const peer = await ctx.srv.connect('/appGateway', { auth: { token: signToken(b) } });
    return { a, b, peer };
  }

  test('auth.token identifies the user', async () => {
    const { a, b, peer } = await pair();
    const s = await ctx.srv.connect('/appGateway', { auth: { token: signToken(a) } });
    await actsAs(s, a, b, peer);
  });

  test('auth.token with a matching auth.userId is accepted', async () => {
    const { a, b, peer } = await pair();
    const s = await ctx.srv.connect('/appGateway', { auth: { token: signToken(a), userId: a.id } });
    await actsAs(s, a, b, peer);
  });

  for (const transports of [['websocket'], ['polling']]) {
    test(`accessToken cookie identifies the user (${transports[0]})`, async () => {
      const { a, b, peer } = await pair();
      const s = await ctx.srv.connect('/appGateway', { transports, extraHeaders: { cookie: `id=${a.id}; accessToken=${signToken(a)}` } });
      await actsAs(s, a, b, peer);
    });

    test(`Authorization: Bearer identifies the user (${transports[0]})`, async () => {
      const { a, b, peer } = await pair();
      const s = await ctx.srv.connect('/appGateway', { transports, extraHeaders: { authorization: `Bearer ${signToken(a)}` } });
      await actsAs(s, a, b, peer);
    });
  }

  test('the token also identifies /chatGateway sockets', async () => {
    const [a, b] = await ctx.srv.createUsers('a', 'b');
    const s = await ctx.srv.connect('/chatGateway', { auth: { token: signToken(a) } });
    s.emit('joinRoom', { senderId: a.id, recieverId: b.id });
    assert.deepStrictEqual(await waitFor(s, 'joined'), { roomName: roomId(a.id, b.id) });
  });

  const refused = [
    ['a bad signature', (a) => ({ auth: { token: signToken(a, 'another-secret-0123456789abcdef') } })],
    ['a malformed token', () => ({ auth: { token: 'not.a.jwt' } })],
    ['an unsigned (alg none) token', (a) => ({
      auth: {
        token: `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ id: a.id, email: a.email })).toString('base64url')}.`,
      },
    })],
    ['an expired token', (a) => ({ auth: { token: signToken(a, undefined, { exp: Math.floor(Date.now() / 1000) - 60 }) } })],
    ['a token of A with auth.userId of B (impersonation)', (a, b) => ({ auth: { token: signToken(a), userId: b.id } })],
    ['auth.userId alone (unverified)', (a) => ({ auth: { userId: a.id } })],
    ['a bad cookie token', (a) => ({ transports: ['websocket'], extraHeaders: { cookie: `accessToken=${signToken(a, 'another-secret-0123456789abcdef')}` } })],
    ['a bad Bearer token', (a) => ({ transports: ['polling'], extraHeaders: { authorization: `Bearer ${signToken(a, 'another-secret-0123456789abcdef')}` } })],
  ];
  for (const [label, opts] of refused) {
    for (const ns of ['/appGateway', '/chatGateway']) {
      test(`${label} gets connect_error on ${ns}`, async () => {
        const [a, b] = await ctx.srv.createUsers('a', 'b');
        await connectFails(ctx.srv.connect(ns, opts(a, b)));
      });
    }
  }
});

describe('AUTH_MODE=compat', () => {
  const ctx = useServer({ authMode: 'compat' });

  test('auth.userId is trusted, as the unmodified frontend sends it', async () => {
    const [a, b] = await ctx.srv.createUsers('a', 'b');
    const peer = await ctx.srv.connect('/appGateway', { auth: { userId: b.id } });
    const s = await ctx.srv.connect('/appGateway', { auth: { userId: a.id } });
    await actsAs(s, a, b, peer);
    const chat = await ctx.srv.connect('/chatGateway', { auth: { userId: a.id } });
    chat.emit('joinRoom', { senderId: a.id, recieverId: b.id });
    assert.deepStrictEqual(await waitFor(chat, 'joined'), { roomName: roomId(a.id, b.id) });
  });

  test('a socket without identity connects, hears nothing and may not emit', async () => {
    const [a, b] = await ctx.srv.createUsers('a', 'b');
    const anon = await ctx.srv.connect('/appGateway', { auth: {} });
    const anonChat = await ctx.srv.connect('/chatGateway');
    const sa = await ctx.srv.connect('/appGateway', { auth: { userId: a.id } });
    const sb = await ctx.srv.connect('/appGateway', { auth: { userId: b.id } });
    await actsAs(sa, a, b, sb);
    anon.emit('AcceptRequest', { userId: a.id, friendId: b.id, status: 'AcceptRequestv' });
    assertException(await waitFor(anon, 'exception'));
    anonChat.emit('message', { content: 'x', senderId: a.id, recieverId: b.id });
    assertException(await waitFor(anonChat, 'exception'));
    await expectNone([anon, anonChat]);
    await expectNone([sa, sb], 'AcceptRequest', 0);
  });

  test('message with someone else\'s senderId: exception, nothing delivered or stored', async () => {
    const { srv } = ctx;
    const [mallory, b, c] = await srv.createUsers('mallory', 'b', 'c');
    const m = await srv.connect('/chatGateway', { auth: { userId: mallory.id } });
    const bChat = await srv.connect('/chatGateway', { auth: { userId: b.id } });
    const cChat = await srv.connect('/chatGateway', { auth: { userId: c.id } });
    const cApp = await srv.connect('/appGateway', { auth: { userId: c.id } });
    bChat.emit('joinRoom', { senderId: b.id, recieverId: c.id });
    await waitFor(bChat, 'joined');
    await sleep(100);
    drain(bChat, cChat, cApp);

    m.emit('message', { content: 'I am B', senderId: b.id, recieverId: c.id });
    assertException(await waitFor(m, 'exception'));
    // Snooping the b-c room through joinRoom is refused too.
    m.emit('joinRoom', { senderId: b.id, recieverId: c.id });
    assertException(await waitFor(m, 'exception'));
    await expectNone([bChat, cChat, cApp]);
    await expectNone(m, 'getMessage', 0);
    await expectNone(m, 'joined', 0);
    assert.deepStrictEqual((await srv.get(`/chat/${c.id}`, { as: c })).json, []);
    assert.equal((await srv.get(`/chat?hashedRoomId=${roomId(b.id, c.id)}`, { as: b })).json.filter((x) => x.content !== '').length, 0);
  });

  test('a relay naming two other users: exception, nothing delivered', async () => {
    const { srv } = ctx;
    const [mallory, b, c] = await srv.createUsers('mallory', 'b', 'c');
    const m = await srv.connect('/appGateway', { auth: { userId: mallory.id } });
    const sb = await srv.connect('/appGateway', { auth: { userId: b.id } });
    const sc = await srv.connect('/appGateway', { auth: { userId: c.id } });
    await sleep(100);
    drain(sb, sc);
    m.emit('BlockFriend', { userId: b.id, blockedId: c.id, stats: 'BLOCKING' });
    assertException(await waitFor(m, 'exception'));
    m.emit('RequestFriendShip', { userId: b.id, friendId: c.id, stats: 'RequestFriendShip' });
    assertException(await waitFor(m, 'exception'));
    await expectNone([sb, sc]);
    await expectNone(m, 'BlockFriend', 0);
    await expectNone(m, 'RequestFriendShip', 0);
  });
});
