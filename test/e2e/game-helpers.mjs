// Helpers for the /game end-to-end tests (contract 4.3, 5.2).
import assert from 'node:assert/strict';
import { signToken, waitFor, sleep } from './harness.mjs';

/** Connects user to /game the way the frontend does: auth.token = the JWT. */
export function gameSocket(srv, user) {
  return srv.connect('/game', { auth: { token: signToken(user) } });
}

/** The exact key order of the GameEntity sent in gameData. */
export const GAME_KEYS = ['id', 'W_screen', 'H_screen', 'ball_x', 'ball_y', 'radius', 'vx', 'vy', 'player1', 'player2',
  'w_paddle', 'h_paddle', 'playerSpeed', 'scoreLimit', 'ball_speed', 'gameStatus', 'winner', 'randomPlayer'];
export const PLAYER_KEYS = ['id', 'inThegame', 'paddleX', 'paddleY', 'score', 'downPress', 'upPress'];

export function assertGame(g) {
  assert.deepEqual(Object.keys(g), GAME_KEYS);
  assert.deepEqual(Object.keys(g.player1), PLAYER_KEYS);
  assert.deepEqual(Object.keys(g.player2), PLAYER_KEYS);
  assert.deepEqual(Object.keys(g.gameStatus), ['update_t', 'status']);
  for (const k of ['ball_x', 'ball_y', 'vx', 'vy', 'ball_speed']) assert.ok(Number.isFinite(g[k]), `${k}: ${g[k]}`);
}

/** The gameSate states received on socket so far, in order. */
export const states = (socket) => socket.events.filter((e) => e.event === 'gameSate').map((e) => e.args[0].state);

/**
 * Steers user's paddle from the gameData frames socket receives: 'track'
 * keeps the paddle level with the ball, 'avoid' keeps it away. Only changes
 * of direction are sent. Returns a function that stops steering.
 */
export function steer(socket, gameId, user, mode) {
  let last = '';
  const onData = (g) => {
    if (g.id !== gameId || g.gameStatus.status !== 'started') return;
    const me = g.player1.id === user.id ? g.player1 : g.player2;
    const centre = me.paddleY + g.h_paddle / 2;
    let want;
    if (mode === 'track') {
      want = g.ball_y > centre + 1 ? 'ArrowRight' : g.ball_y < centre - 1 ? 'ArrowLeft' : 'keyup';
    } else {
      want = g.ball_y > g.H_screen / 2 ? 'ArrowLeft' : 'ArrowRight';
    }
    if (want === last) return;
    if (last !== '' && want !== 'keyup') socket.emit('keyup', { gameId, userId: user.id });
    socket.emit(want, { gameId, userId: user.id });
    last = want;
  };
  socket.on('gameData', onData);
  return () => socket.off('gameData', onData);
}

/** gameData frames per second received on socket for gameId between two instants. */
export function frameRate(socket, gameId, from, to) {
  const n = socket.events.filter((e) => e.event === 'gameData' && e.args[0].id === gameId && e.at >= from && e.at < to).length;
  return (n * 1000) / (to - from);
}

/**
 * Waits for the gameSate finished on socket, then for the final gameData
 * (the one whose status is finished), and returns it. The server sends the
 * two as separate messages, in that order (contract 4.3): the final
 * gameData may arrive after the gameSate has been seen.
 */
export async function finished(socket, ms = 60_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const s = await waitFor(socket, 'gameSate', Math.max(deadline - Date.now(), 1));
    if (s.state === 'finished') break;
  }
  const at = socket.events.findLastIndex((e) => e.event === 'gameSate' && e.args[0].state === 'finished');
  for (;;) {
    const last = socket.events.slice(at + 1).find((e) => e.event === 'gameData' && e.args[0].gameStatus.status === 'finished');
    if (last) return last.args[0];
    if (Date.now() > deadline) assert.fail(`no final gameData within ${ms} ms after gameSate finished`);
    await sleep(10);
  }
}

/** Invites b from a's /game socket and returns {gameId, invitationId}. */
export async function invite(srv, aSock, a, b, maxScore) {
  aSock.emit('createGame', { invitedId: b.id, creatorId: a.id, isRamdomOponent: false, maxScore });
  const { id } = await waitFor(aSock, 'Success');
  const list = await srv.get(`/game/invitations/${b.id}`, { as: b });
  assert.equal(list.status, 200);
  const mine = list.json.filter((i) => i.message === `${a.name} invited you to play a game`);
  assert.ok(mine.length >= 1, `invitation of ${a.name} not listed: ${list.text}`);
  return { gameId: id, invitationId: mine.at(-1).id };
}
