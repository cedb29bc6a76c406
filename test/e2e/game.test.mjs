// /game (contract 3.5, 4.3, 5.2, 7-5, 7-13): invitations, random
// matchmaking, the 60 Hz loop, end-of-game records, INAGAME presence,
// rejoin grace and forfeit, and refusal of impersonation.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, waitFor, expectNone, drain, sleep, unknownId, UUID } from './harness.mjs';
import { gameSocket, assertGame, states, steer, frameRate, finished, invite } from './game-helpers.mjs';

describe('/game', () => {
  const ctx = useServer({ authMode: 'strict', grace: '1s' });

  async function players() {
    const { srv } = ctx;
    const [a, b, w] = await srv.createUsers('a', 'b', 'w');
    await srv.befriend(a, b);
    await srv.befriend(w, a);
    const as = await gameSocket(srv, a);
    const bs = await gameSocket(srv, b);
    return { a, b, w, as, bs };
  }

  test('invite, accept, join, play to maxScore by steering: states, 60 Hz, records, INAGAME then ONLINE', async () => {
    const { srv } = ctx;
    const { a, b, w, as, bs } = await players();
    const bApp = await srv.connectAs('/appGateway', b, 'strict');
    const wApp = await srv.connectAs('/appGateway', w, 'strict');
    await sleep(200);
    drain(as, bs, bApp, wApp);

    const { gameId, invitationId } = await invite(srv, as, a, b, 2);
    assert.match(gameId, UUID);
    await waitFor(bs, 'gameInvitation');
    await waitFor(bApp, 'gameInvitation');
    const list = await srv.get(`/game/invitations/${b.id}`, { as: b });
    assert.deepStrictEqual(list.json, [{ id: invitationId, message: `${a.name} invited you to play a game`, userImg: null }]);

    as.emit('joinGame', { gameId, userId: a.id });
    assert.deepStrictEqual(await waitFor(as, 'gameSate'), { state: 'waiting' });
    const first = await waitFor(as, 'gameData');
    assertGame(first);
    assert.equal(first.id, gameId);
    assert.equal(first.scoreLimit, 2);
    assert.equal(first.randomPlayer, false);
    assert.equal(first.player1.id, a.id);
    assert.equal(first.player2.id, b.id);
    await expectNone(wApp, 'userStatus'); // a waiting inviter is not INAGAME

    bs.emit('acceptInvitation', { invitationId, userId: b.id });
    assert.deepStrictEqual(await waitFor(bs, 'AcceptedGame'), { gameId });
    const stopA = steer(as, gameId, a, 'track');
    const stopB = steer(bs, gameId, b, 'avoid');
    bs.emit('joinGame', { gameId, userId: b.id });
    assert.deepStrictEqual(await waitFor(as, 'gameSate'), { state: 'started' });
    const startedAt = Date.now();
    const inGame = await waitFor(wApp, 'userStatus');
    assert.equal(inGame.userId, a.id);
    assert.equal(inGame.status, 'INAGAME');

    const final = await finished(as);
    stopA();
    stopB();
    const endedAt = Date.now();
    assert.equal(final.gameStatus.status, 'finished');
    assert.equal(final.winner, a.id);
    assert.equal(final.player1.score, 2);
    assert.deepEqual(states(as), ['waiting', 'started', 'finished']);
    assert.deepEqual(states(bs), ['waiting', 'started', 'finished']);
    // gameData at 60 Hz within 10%, measured past the first half second.
    const rate = frameRate(as, gameId, startedAt + 500, endedAt - 100);
    assert.ok(rate > 54 && rate < 66, `gameData rate ${rate.toFixed(1)} Hz`);

    const online = await waitFor(wApp, 'userStatus');
    assert.equal(online.userId, a.id);
    assert.equal(online.status, 'ONLINE');
    const games = await srv.get(`/users/getGames/${a.id}`);
    assert.equal(games.json.length, 1);
    assert.deepStrictEqual(
      [games.json[0].playerA_id, games.json[0].playerA_Score, games.json[0].playerB_id, games.json[0].playerB_Score],
      [a.id, 2, b.id, 0],
    );
    const sa = await srv.get(`/users/${a.id}/userStat`);
    assert.deepStrictEqual([sa.json.winsNumbr, sa.json.lossesNumbr, sa.json.rate], [1, 0, 0.2]);
    const sb = await srv.get(`/users/${b.id}/userStat`);
    assert.deepStrictEqual([sb.json.winsNumbr, sb.json.lossesNumbr, sb.json.rate], [0, 1, 0]);
    // The game is gone: a late joinGame gets error_access.
    as.emit('joinGame', { gameId, userId: a.id });
    await waitFor(as, 'error_access');
    assert.deepStrictEqual((await srv.get(`/game/invitations/${b.id}`, { as: b })).json, []);
  });

  test('reject: error_access to the inviter, gameInvitation to the rejecter, nothing left', async () => {
    const { srv } = ctx;
    const { a, b, as, bs } = await players();
    const { gameId, invitationId } = await invite(srv, as, a, b, 5);
    as.emit('joinGame', { gameId, userId: a.id });
    await waitFor(as, 'gameSate');
    await waitFor(bs, 'gameInvitation');
    bs.emit('rejectInvitation', { invitationId, userId: b.id });
    await waitFor(as, 'error_access');
    await waitFor(bs, 'gameInvitation');
    assert.deepStrictEqual((await srv.get(`/game/invitations/${b.id}`, { as: b })).json, []);
    // Repeating the answer changes nothing.
    bs.emit('acceptInvitation', { invitationId, userId: b.id });
    assert.equal(typeof (await waitFor(bs, 'error')), 'string');
    await expectNone(bs, 'AcceptedGame');
    bs.emit('joinGame', { gameId, userId: b.id });
    await waitFor(bs, 'error_access');
  });

  test('cancelGame and quiteGame of a waiting invitation cancel it and refresh the invitee', async () => {
    const { srv } = ctx;
    const { a, b, as, bs } = await players();
    for (const event of ['cancelGame', 'quiteGame']) {
      const { gameId } = await invite(srv, as, a, b, 3);
      as.emit('joinGame', { gameId, userId: a.id });
      await waitFor(as, 'gameSate');
      await waitFor(bs, 'gameInvitation');
      as.emit(event, { gameId, userId: a.id });
      await waitFor(bs, 'gameInvitation');
      assert.deepStrictEqual((await srv.get(`/game/invitations/${b.id}`, { as: b })).json, [], event);
      bs.emit('joinGame', { gameId, userId: b.id });
      await waitFor(bs, 'error_access');
    }
  });

  test('a block cancels the open invitations between the two at once, both ways', async () => {
    const { srv } = ctx;
    const { a, b, w, as, bs } = await players();
    const aApp = await srv.connectAs('/appGateway', a, 'strict');
    const bApp = await srv.connectAs('/appGateway', b, 'strict');
    await sleep(200);
    drain(as, bs, aApp, bApp);
    const { gameId, invitationId } = await invite(srv, as, a, b, 3);
    as.emit('joinGame', { gameId, userId: a.id });
    await waitFor(as, 'gameSate'); // a waits for b
    await waitFor(bs, 'gameInvitation');
    await waitFor(bApp, 'gameInvitation');
    const back = await invite(srv, bs, b, a, 3);
    await waitFor(as, 'gameInvitation');
    await waitFor(aApp, 'gameInvitation');
    const other = await invite(srv, as, a, w, 3); // not between the two: untouched

    await srv.block(b, a); // nobody answers: the block alone ends them
    await waitFor(as, 'error_access');
    await waitFor(bs, 'gameInvitation');
    await waitFor(bApp, 'gameInvitation');
    await waitFor(as, 'gameInvitation');
    await waitFor(aApp, 'gameInvitation');
    assert.deepStrictEqual((await srv.get(`/game/invitations/${b.id}`, { as: b })).json, []);
    assert.deepStrictEqual((await srv.get(`/game/invitations/${a.id}`, { as: a })).json, []);
    assert.deepStrictEqual((await srv.get(`/game/invitations/${w.id}`, { as: w })).json.map((i) => i.id), [other.invitationId]);
    for (const [sock, user, id] of [[bs, b, gameId], [as, a, back.gameId]]) {
      sock.emit('joinGame', { gameId: id, userId: user.id });
      await waitFor(sock, 'error_access');
    }
    bs.emit('acceptInvitation', { invitationId, userId: b.id });
    assert.equal(typeof (await waitFor(bs, 'error')), 'string');
    await expectNone(bs, 'AcceptedGame');
  });

  test('random matchmaking pairs two users, never a user with itself', async () => {
    const { srv } = ctx;
    const [x, y] = await srv.createUsers('x', 'y');
    const xs = await gameSocket(srv, x);
    const ys = await gameSocket(srv, y);
    xs.emit('createGame', { creatorId: x.id, isRamdomOponent: true, maxScore: 10 });
    const { id } = await waitFor(xs, 'Success');
    xs.emit('createGame', { creatorId: x.id, isRamdomOponent: true });
    assert.deepStrictEqual(await waitFor(xs, 'Success'), { id });
    xs.emit('joinGame', { gameId: id, userId: x.id });
    assert.deepStrictEqual(await waitFor(xs, 'gameSate'), { state: 'waiting' });
    ys.emit('createGame', { creatorId: y.id, isRamdomOponent: true });
    assert.deepStrictEqual(await waitFor(ys, 'Success'), { id });
    ys.emit('joinGame', { gameId: id, userId: y.id });
    assert.deepStrictEqual(await waitFor(xs, 'gameSate'), { state: 'started' });
    const g = await waitFor(ys, 'gameData');
    assert.equal(g.randomPlayer, true);
    assert.equal(g.scoreLimit, 10);
    assert.deepEqual([g.player1.id, g.player2.id], [x.id, y.id]);
    xs.emit('quiteGame', { gameId: id, userId: x.id });
    const final = await finished(ys, 3000);
    assert.equal(final.winner, y.id);
    assert.deepEqual([final.player1.score, final.player2.score], [0, 10]);
  });

  test('a queued player who disconnects leaves the queue', async () => {
    const { srv } = ctx;
    const [x, y] = await srv.createUsers('x', 'y');
    const xs = await gameSocket(srv, x);
    xs.emit('createGame', { creatorId: x.id, isRamdomOponent: true });
    const { id } = await waitFor(xs, 'Success');
    xs.close();
    await sleep(200);
    const ys = await gameSocket(srv, y);
    ys.emit('createGame', { creatorId: y.id, isRamdomOponent: true });
    const other = await waitFor(ys, 'Success');
    assert.notEqual(other.id, id);
  });

  test('disconnect and rejoin within the grace: the game goes on; past it, a forfeit', async () => {
    const { srv } = ctx;
    const { a, b, as, bs } = await players();
    const { gameId } = await invite(srv, as, a, b, 50);
    as.emit('joinGame', { gameId, userId: a.id });
    bs.emit('joinGame', { gameId, userId: b.id });
    await waitFor(as, 'gameSate');
    assert.deepStrictEqual(await waitFor(as, 'gameSate'), { state: 'started' });
    const stopA = steer(as, gameId, a, 'track');
    const stopB = steer(bs, gameId, b, 'track');

    bs.close();
    await sleep(2000);
    const bs2 = await gameSocket(srv, b);
    bs2.emit('joinGame', { gameId, userId: b.id });
    assert.deepStrictEqual(await waitFor(bs2, 'gameSate'), { state: 'started' });
    const stopB2 = steer(bs2, gameId, b, 'track');
    await sleep(4000); // past the first grace: still playing
    await expectNone(as, 'gameSate', 0);
    await waitFor(bs2, 'gameData');

    bs2.close();
    stopB();
    stopB2();
    const final = await finished(as, 8000);
    stopA();
    assert.equal(final.winner, a.id);
    assert.deepEqual([final.player1.score, final.player2.score], [50, 0]);
    const sa = await srv.get(`/users/${a.id}/userStat`);
    assert.equal(sa.json.winsNumbr, 1);
  });

  test('impersonation and bad input are refused; nobody else is touched', async () => {
    const { srv } = ctx;
    const { a, b, as, bs } = await players();
    const [c] = await srv.createUsers('c');
    const cs = await gameSocket(srv, c);
    const { gameId, invitationId } = await invite(srv, as, a, b, 3);
    as.emit('joinGame', { gameId, userId: a.id });
    await waitFor(as, 'gameSate');
    drain(as, bs);

    const forged = [
      ['createGame', { invitedId: b.id, creatorId: a.id, isRamdomOponent: false }],
      ['acceptInvitation', { invitationId, userId: b.id }],
      ['rejectInvitation', { invitationId, userId: b.id }],
      ['joinGame', { gameId, userId: a.id }],
      ['ArrowRight', { gameId, userId: a.id }],
      ['quiteGame', { gameId, userId: a.id }],
      ['cancelGame', { gameId, userId: a.id }],
    ];
    for (const [event, payload] of forged) {
      cs.emit(event, payload);
      assert.equal(typeof (await waitFor(cs, 'error')), 'string', event);
    }
    // As itself, c is no player of this game.
    for (const event of ['joinGame', 'ArrowLeft', 'quiteGame']) {
      cs.emit(event, { gameId, userId: c.id });
      await waitFor(cs, 'error_access');
    }
    cs.emit('joinGame', { gameId: unknownId(), userId: c.id });
    await waitFor(cs, 'error_access');
    cs.emit('joinGame', { userId: c.id });
    assert.equal(await waitFor(cs, 'error'), 'Bad request');
    for (const maxScore of ['ten', 0, 101, 2.5, {}]) {
      as.emit('createGame', { invitedId: b.id, creatorId: a.id, isRamdomOponent: false, maxScore });
      assert.equal(typeof (await waitFor(as, 'error')), 'string', `maxScore ${JSON.stringify(maxScore)}`);
    }
    cs.emit('createGame', { invitedId: a.id, creatorId: c.id, isRamdomOponent: false });
    assert.equal(await waitFor(cs, 'error'), 'You are not allowed to play against this one');
    for (const bad of ['x', 42, null, [gameId]]) {
      cs.emit('joinGame', bad);
      assert.equal(typeof (await waitFor(cs, 'error')), 'string');
    }
    await expectNone([as, bs], undefined);
    // The invitation is untouched and still b's to answer.
    bs.emit('acceptInvitation', { invitationId, userId: b.id });
    assert.deepStrictEqual(await waitFor(bs, 'AcceptedGame'), { gameId });
  });
});

describe('/game with GAME_INVITATION_TTL=2s and GAME_REJOIN_GRACE=1s', () => {
  const ctx = useServer({ authMode: 'strict', grace: '1s', env: { GAME_INVITATION_TTL: '2s', GAME_REJOIN_GRACE: '1s' } });

  test('the invitation expires after the TTL; a player away past the grace forfeits', async () => {
    const { srv } = ctx;
    const [a, b] = await srv.createUsers('a', 'b');
    await srv.befriend(a, b);
    const as = await gameSocket(srv, a);
    const bs = await gameSocket(srv, b);
    const { gameId } = await invite(srv, as, a, b, 3);
    const invitedAt = Date.now();
    as.emit('joinGame', { gameId, userId: a.id });
    await waitFor(as, 'gameSate');
    await waitFor(bs, 'gameInvitation');
    await waitFor(as, 'error_access', 4000);
    const expiredAfter = Date.now() - invitedAt;
    assert.ok(expiredAfter >= 1500 && expiredAfter < 4000, `expired after ${expiredAfter} ms`);
    assert.equal(await waitFor(as, 'error'), 'The invitation expired');
    await waitFor(bs, 'gameInvitation');
    assert.deepStrictEqual((await srv.get(`/game/invitations/${b.id}`, { as: b })).json, []);

    const next = await invite(srv, as, a, b, 50);
    as.emit('joinGame', { gameId: next.gameId, userId: a.id });
    bs.emit('joinGame', { gameId: next.gameId, userId: b.id });
    for (;;) if ((await waitFor(as, 'gameSate')).state === 'started') break;
    bs.close();
    const leftAt = Date.now();
    const final = await finished(as, 4000);
    const forfeitAfter = Date.now() - leftAt;
    assert.ok(forfeitAfter >= 800 && forfeitAfter < 4000, `forfeit after ${forfeitAfter} ms`);
    assert.equal(final.winner, a.id);
  });
});
