// Issue 7, part 1: the durable inbox over REST (/notifications...) and the
// opt-in /appGateway events "notification" / "unreadCount" with replay
// after reconnect (auth.lastSeq). Strict mode.
import { describe, test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, waitFor, expectNone, signToken, closed, ISO_MS, UUID, ORIGIN } from './harness.mjs';

const MODE = 'strict';
const ctx = useServer({ authMode: MODE });

const NOTIFICATION_KEYS = ['actorId', 'created_at', 'display', 'id', 'payload', 'readAt', 'seenAt', 'seq', 'type'];
const TYPES = [
  'block', 'channel_kick', 'friend_accepted', 'friend_deleted', 'friend_request', 'friend_request_cancelled',
  'friend_request_deleted', 'game_invitation', 'game_invitation_accepted', 'game_invitation_cancelled',
  'game_invitation_rejected', 'message', 'unblock',
];
const DEFAULT_PREFS = Object.fromEntries(TYPES.map((t) => [t, t !== 'block' && t !== 'unblock']));

/** Asserts a direct-message notification's exact shape. */
function assertMessageNotification(n, { seq, from, to, content, read = false }) {
  assert.deepEqual(Object.keys(n).sort(), NOTIFICATION_KEYS);
  assert.equal(n.seq, seq);
  assert.match(n.id, UUID);
  assert.equal(n.type, 'message');
  assert.equal(n.actorId, from.id);
  assert.deepEqual(Object.keys(n.payload).sort(), ['content', 'messageId', 'recieverId', 'senderId']);
  assert.match(n.payload.messageId, UUID);
  assert.deepStrictEqual({ ...n.payload, messageId: undefined }, { content, senderId: from.id, recieverId: to.id, messageId: undefined });
  assert.match(n.created_at, ISO_MS);
  // How a browser shows it; the frontend is the first CORS origin.
  assert.deepStrictEqual(n.display, {
    title: `Message from ${from.name}`, body: content, icon: '/push/icon.png',
    tag: `onlinenow-${seq}`, url: `${ORIGIN}/chat/${from.id}`,
  });
  if (read) {
    assert.match(n.readAt, ISO_MS);
    assert.match(n.seenAt, ISO_MS);
  } else {
    assert.equal(n.readAt, null);
    assert.equal(n.seenAt, null);
  }
}

let a, b, c, aChat, cChat;

beforeEach(async () => {
  const { srv } = ctx;
  [a, b, c] = await srv.createUsers('a', 'b', 'c');
  aChat = await srv.connectAs('/chatGateway', a, MODE);
  cChat = await srv.connectAs('/chatGateway', c, MODE);
});

/** sender's chat socket sends a direct message to b; resolves once stored (ack). */
async function dm(socket, from, content) {
  const ack = await socket.timeout(3000).emitWithAck('message', { content, senderId: from.id, recieverId: b.id });
  assert.deepStrictEqual(ack, { status: 'ok' });
}

const seqs = (list) => list.map((n) => n.seq);

describe('REST', () => {
  test('list, paging, read, unread counts and preferences, exact', async () => {
    const { srv } = ctx;
    for (const text of ['a1', 'a2', 'a3']) await dm(aChat, a, text);
    await dm(cChat, c, 'c1');

    const all = await srv.get('/notifications', { as: b });
    assert.equal(all.status, 200);
    assert.equal(all.json.length, 4);
    all.json.forEach((n, i) => {
      const [from, content] = i < 3 ? [a, `a${i + 1}`] : [c, 'c1'];
      assertMessageNotification(n, { seq: i + 1, from, to: b, content });
    });
    assert.equal(new Set(all.json.map((n) => n.id)).size, 4);

    // after/limit paging, oldest first.
    assert.deepStrictEqual(seqs((await srv.get('/notifications?after=1&limit=2', { as: b })).json), [2, 3]);
    assert.deepStrictEqual(seqs((await srv.get('/notifications?after=3&limit=2', { as: b })).json), [4]);
    assert.deepStrictEqual((await srv.get('/notifications?after=4', { as: b })).json, []);
    assert.deepStrictEqual((await srv.get('/notifications?after=1&limit=2', { as: b })).json, all.json.slice(1, 3));
    for (const q of ['limit=201', 'limit=-1', 'after=-1', 'after=x']) {
      assert.equal((await srv.get(`/notifications?${q}`, { as: b })).status, 400, q);
    }

    const count = async (who = b) => {
      const r = await srv.get('/notifications/unread-count', { as: who });
      assert.equal(r.status, 200);
      return r.json;
    };
    assert.deepStrictEqual(await count(), { total: 4, byType: { message: 4 }, bySender: { [a.id]: 3, [c.id]: 1 } });

    // Read by ids (twice: the second changes nothing), then up to a seq.
    const read = (body, who = b) => srv.post('/notifications/read', body, { as: who });
    let r = await read({ ids: [all.json[0].id] });
    assert.equal(r.status, 200);
    assert.deepStrictEqual(r.json, { updated: 1 });
    assert.deepStrictEqual((await read({ ids: [all.json[0].id] })).json, { updated: 0 });
    assert.deepStrictEqual(await count(), { total: 3, byType: { message: 3 }, bySender: { [a.id]: 2, [c.id]: 1 } });
    assert.deepStrictEqual((await read({ upToSeq: 3 })).json, { updated: 2 });
    assert.deepStrictEqual(await count(), { total: 1, byType: { message: 1 }, bySender: { [c.id]: 1 } });
    for (const bad of [{}, { upToSeq: 0 }, { ids: ['nope'] }, '[']) {
      assert.equal((await read(bad)).status, 400, JSON.stringify(bad));
    }
    const after = (await srv.get('/notifications', { as: b })).json;
    after.forEach((n, i) => {
      const [from, content] = i < 3 ? [a, `a${i + 1}`] : [c, 'c1'];
      assertMessageNotification(n, { seq: i + 1, from, to: b, content, read: i < 3 });
    });

    // Preferences: defaults, a muted type leaves the counts, unknown type 400.
    const prefs = await srv.get('/notifications/preferences', { as: b });
    assert.equal(prefs.status, 200);
    assert.deepStrictEqual(prefs.json, DEFAULT_PREFS);
    const put = await srv.put('/notifications/preferences', { message: false }, { as: b });
    assert.equal(put.status, 200);
    assert.deepStrictEqual(put.json, { ...DEFAULT_PREFS, message: false });
    assert.deepStrictEqual((await srv.get('/notifications/preferences', { as: b })).json, { ...DEFAULT_PREFS, message: false });
    assert.deepStrictEqual(await count(), { total: 0, byType: {}, bySender: {} });
    // Still recorded and listed while muted.
    await dm(cChat, c, 'c2');
    assert.deepStrictEqual(seqs((await srv.get('/notifications?after=4', { as: b })).json), [5]);
    assert.deepStrictEqual(await count(), { total: 0, byType: {}, bySender: {} });
    assert.equal((await srv.put('/notifications/preferences', { bogus: true }, { as: b })).status, 400);
    assert.equal((await srv.put('/notifications/preferences', { message: 'yes' }, { as: b })).status, 400);
    assert.deepStrictEqual((await srv.put('/notifications/preferences', { message: true }, { as: b })).json, DEFAULT_PREFS);
    assert.deepStrictEqual(await count(), { total: 2, byType: { message: 2 }, bySender: { [c.id]: 2 } });

    // Another user sees only its own (empty) inbox, whatever it names, and
    // cannot mark b's notifications read.
    assert.deepStrictEqual((await srv.get('/notifications', { as: a })).json, []);
    assert.deepStrictEqual((await srv.get(`/notifications?userId=${b.id}`, { as: a })).json, []);
    assert.deepStrictEqual(await count(a), { total: 0, byType: {}, bySender: {} });
    assert.deepStrictEqual((await read({ ids: after.map((n) => n.id) }, a)).json, { updated: 0 });
    assert.deepStrictEqual((await read({ upToSeq: 100 }, a)).json, { updated: 0 });
    assert.deepStrictEqual(await count(), { total: 2, byType: { message: 2 }, bySender: { [c.id]: 2 } });
    assert.deepStrictEqual((await srv.put('/notifications/preferences', { message: false }, { as: a })).json, { ...DEFAULT_PREFS, message: false });
    assert.deepStrictEqual((await srv.get('/notifications/preferences', { as: b })).json, DEFAULT_PREFS);
  });

  test('401 without credentials', async () => {
    const { srv } = ctx;
    await dm(aChat, a, 'hello');
    const calls = [
      ['GET', '/notifications'], ['GET', `/notifications?userId=${b.id}`], ['POST', '/notifications/read', { upToSeq: 1 }],
      ['GET', '/notifications/unread-count'], ['GET', '/notifications/preferences'],
      ['PUT', '/notifications/preferences', { message: false }],
    ];
    for (const [method, path, body] of calls) {
      const r = await srv.request(method, path, { body });
      assert.equal(r.status, 401, `${method} ${path}: ${r.status} ${r.text}`);
    }
    const forged = await srv.get('/notifications', { headers: { Authorization: `Bearer ${signToken(b, 'another-secret-0123456789abcdef')}` } });
    assert.equal(forged.status, 401);
    // Nothing changed.
    assert.deepStrictEqual((await srv.get('/notifications/unread-count', { as: b })).json, { total: 1, byType: { message: 1 }, bySender: { [a.id]: 1 } });
    assert.deepStrictEqual((await srv.get('/notifications/preferences', { as: b })).json, DEFAULT_PREFS);
  });
});

describe('sockets', () => {
  test('replay after reconnect with auth.lastSeq, then live; plain sockets see nothing new', async () => {
    const { srv } = ctx;
    const plain = await srv.connectAs('/appGateway', b, MODE); // the original frontend: no lastSeq
    let tab = await srv.connect('/appGateway', { auth: { token: signToken(b), lastSeq: 0 } });
    assert.deepStrictEqual(await waitFor(tab, 'unreadCount'), { total: 0, byType: {}, bySender: {} });

    for (const text of ['m1', 'm2', 'm3']) await dm(aChat, a, text);
    for (const [i, text] of ['m1', 'm2', 'm3'].entries()) {
      assertMessageNotification(await waitFor(tab, 'notification'), { seq: i + 1, from: a, to: b, content: text });
    }
    // The counts converge to the absolute 3 (every earlier one is lower).
    let last;
    do last = await waitFor(tab, 'unreadCount'); while (last.total < 3);
    assert.deepStrictEqual(last, { total: 3, byType: { message: 3 }, bySender: { [a.id]: 3 } });

    tab.close();
    await closed(tab);
    await dm(aChat, a, 'm4');
    await dm(aChat, a, 'm5');

    tab = await srv.connect('/appGateway', { auth: { token: signToken(b), lastSeq: 3 } });
    assertMessageNotification(await waitFor(tab, 'notification'), { seq: 4, from: a, to: b, content: 'm4' });
    assertMessageNotification(await waitFor(tab, 'notification'), { seq: 5, from: a, to: b, content: 'm5' });
    assert.deepStrictEqual(await waitFor(tab, 'unreadCount'), { total: 5, byType: { message: 5 }, bySender: { [a.id]: 5 } });
    await expectNone(tab, 'notification');

    await dm(aChat, a, 'm6');
    assertMessageNotification(await waitFor(tab, 'notification'), { seq: 6, from: a, to: b, content: 'm6' });
    assert.deepStrictEqual(await waitFor(tab, 'unreadCount'), { total: 6, byType: { message: 6 }, bySender: { [a.id]: 6 } });
    await expectNone(tab, 'notification');

    // A read reaches the tab as absolute counts.
    assert.deepStrictEqual((await srv.post('/notifications/read', { upToSeq: 4 }, { as: b })).json, { updated: 4 });
    assert.deepStrictEqual(await waitFor(tab, 'unreadCount'), { total: 2, byType: { message: 2 }, bySender: { [a.id]: 2 } });

    // The plain socket got the original events (notifMessage) but nothing new.
    for (let i = 1; i <= 6; i++) assert.deepStrictEqual(await waitFor(plain, 'notifMessage'), { content: `m${i}`, senderId: a.id, recieverId: b.id });
    await expectNone(plain, 'notification', 0);
    await expectNone(plain, 'unreadCount', 0);
  });
});
