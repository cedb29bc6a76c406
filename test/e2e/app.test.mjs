// /appGateway (contract 4.1, 5.2, 7-6): friend and block relays go exactly
// once to every /appGateway socket of the two users involved (the sender's
// own socket included) and to nobody else; inviteUser -> invitation.
import { describe, test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, waitFor, expectNone, drain, assertException, sleep } from './harness.mjs';

// Each relay: who emits it (the acting user must be one of the two ids) and its payload,
// as the frontend builds them (contract 5.2).
const RELAYS = [
  ['RequestFriendShip', 'a', (a, b) => ({ userId: a.id, friendId: b.id, stats: 'RequestFriendShip' })],
  ['CancelFriendShip', 'a', (a, b) => ({ userId: a.id, friendId: b.id, stats: 'CancelFriendShip' })],
  ['DeleteFriendShip', 'a', (a, b) => ({ userId: a.id, friendId: b.id, stats: 'DeleteFriendShip' })],
  // Accept/Delete request: emitted by the addressee, userId = the requester.
  ['AcceptRequest', 'b', (a, b) => ({ userId: a.id, friendId: b.id, status: 'AcceptRequestv' })],
  ['DeleteRequest', 'b', (a, b) => ({ userId: a.id, friendId: b.id, status: 'DeleteRequest' })],
  ['BlockFriend', 'a', (a, b) => ({ userId: a.id, blockedId: b.id, stats: 'BLOCKING' })],
  ['UnblockFriend', 'a', (a, b) => ({ userId: a.id, blockedUserId: b.id, stats: 'UNBLOCKING' })],
];

// Each user's own connect-time userStatus may still be on its way when a
// test starts on a busy machine; the "nothing else arrives" checks ignore it
// (presence.test.mjs checks userStatus itself).
const PRESENCE_SETTLING = { ignore: ['userStatus'] };

for (const mode of ['compat', 'strict']) {
  describe(`AUTH_MODE=${mode}`, () => {
    const ctx = useServer({ authMode: mode });
    let a, b, c, a1, a2, aChat, b1, c1;

    beforeEach(async () => {
      const { srv } = ctx;
      [a, b, c] = await srv.createUsers('a', 'b', 'c');
      a1 = await srv.connectAs('/appGateway', a, mode);
      a2 = await srv.connectAs('/appGateway', a, mode, { transports: ['websocket'] });
      aChat = await srv.connectAs('/chatGateway', a, mode);
      b1 = await srv.connectAs('/appGateway', b, mode);
      c1 = await srv.connectAs('/appGateway', c, mode);
      await sleep(100); // let connect-time presence settle before counting events
      drain(a1, a2, aChat, b1, c1);
    });

    for (const [event, by, build] of RELAYS) {
      test(`${event} reaches every /appGateway socket of both users once, nobody else`, async () => {
        const payload = build(a, b);
        (by === 'a' ? a1 : b1).emit(event, payload);
        for (const s of [a1, a2, b1]) assert.deepStrictEqual(await waitFor(s, event), payload);
        await expectNone([a1, a2, b1], event);
        await expectNone([c1, aChat], undefined, 0, PRESENCE_SETTLING);
        await expectNone([a1, a2, b1], 'exception', 0);
      });

      test(`${event} from a third user naming two others is refused`, async () => {
        c1.emit(event, build(a, b));
        assertException(await waitFor(c1, 'exception'));
        await expectNone([a1, a2, b1, aChat], undefined, 300, PRESENCE_SETTLING);
        await expectNone(c1, event, 0);
      });
    }

    test('relay payloads that are not objects or lack the other id get exception', async () => {
      for (const bad of ['hello', 42, null, [a.id, b.id], { userId: a.id }, { userId: a.id, friendId: 7 }]) {
        a1.emit('RequestFriendShip', bad);
        assertException(await waitFor(a1, 'exception'));
      }
      await expectNone([a2, b1, c1], undefined, 300, PRESENCE_SETTLING);
      await expectNone(a1, 'RequestFriendShip', 0);
    });

    test('inviteUser sends invitation to the invited user and stores a PENDING request', async () => {
      const { srv } = ctx;
      a1.emit('inviteUser', { friendShipStatus: 'PENDING', userId: a.id, friendId: b.id });
      assert.deepStrictEqual(await waitFor(b1, 'invitation'), `${a.name} send you a friend request`);
      await expectNone(b1, 'invitation');
      // The original's second gateway instance answered with exception: not reproduced.
      await expectNone([a1, a2, c1, aChat], undefined, 0, PRESENCE_SETTLING);
      const rows = await srv.get(`/users/${a.id}/friendShip/${b.id}`, { as: a });
      assert.equal(rows.status, 200);
      assert.equal(rows.json.length, 1);
      assert.equal(rows.json[0].friendShipStatus, 'PENDING');
      assert.equal(rows.json[0].userId, a.id);
      assert.equal(rows.json[0].friendId, b.id);
    });

    test('inviteUser in the name of someone else is refused and stores nothing', async () => {
      const { srv } = ctx;
      c1.emit('inviteUser', { friendShipStatus: 'PENDING', userId: a.id, friendId: b.id });
      assertException(await waitFor(c1, 'exception'));
      await expectNone([a1, a2, b1, aChat], undefined, 300, PRESENCE_SETTLING);
      const rows = await srv.get(`/users/${a.id}/friendShip/${b.id}`, { as: a });
      assert.deepStrictEqual(rows.json, []);
    });

    test('inviteUser with a malformed payload gets exception and stores nothing', async () => {
      const { srv } = ctx;
      for (const bad of [{ userId: a.id }, { friendShipStatus: 'PENDING', userId: a.id, friendId: 12 }, 'x']) {
        a1.emit('inviteUser', bad);
        assertException(await waitFor(a1, 'exception'));
      }
      await expectNone([b1, c1], undefined, 300, PRESENCE_SETTLING);
      const rows = await srv.get(`/users/${a.id}/friendShip/${b.id}`, { as: a });
      assert.deepStrictEqual(rows.json, []);
    });
  });
}
