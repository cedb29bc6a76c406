'use strict';
// The Node.js peer of the onlinenow benchmarks: a small, idiomatic
// socket.io 4 server with the same REST subset, socket events, payloads,
// recipients, identity modes and presence grace as the Go server, over an
// in-memory store. Every identified socket joins the room user:<id> of its
// namespace; "send to a user" is io.of(ns).to(room).emit(...).
//
// Env: PORT (3000), HOST (all interfaces), JWT_SECRET, AUTH_MODE (strict|compat), PRESENCE_GRACE
// (a Go duration such as 5s or 500ms; default 5s).

const http = require('node:http');
const crypto = require('node:crypto');
const { Server } = require('socket.io');

const PORT = Number(process.env.PORT || 3000);
const HOST = process.env.HOST || undefined; // all interfaces, like the Go server, unless set
const SECRET = Buffer.from(process.env.JWT_SECRET || crypto.randomBytes(32).toString('hex'));
const AUTH_MODE = process.env.AUTH_MODE || 'strict';
const GRACE_MS = parseDuration(process.env.PRESENCE_GRACE || '5s');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_MESSAGE = 5000;
const MAX_TAG = 64;

function parseDuration(s) {
  const units = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };
  let ms = 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  let m;
  let matched = '';
  while ((m = re.exec(s)) !== null) {
    ms += Number(m[1]) * units[m[2]];
    matched += m[0];
  }
  if (matched !== s) throw new Error(`PRESENCE_GRACE: bad duration ${JSON.stringify(s)}`);
  return ms;
}

// ---- in-memory store -------------------------------------------------------

const users = new Map(); // id -> user row
const uniques = new Set(); // "email:<x>", "intraId:<x>"
const friendRows = new Map(); // "<userId>|<friendId>" -> friend row
const accepted = new Map(); // id -> Set of accepted friend ids
const blocks = new Set(); // "<blocker>|<blocked>" (none are created by the benchmark)
const rooms = new Map(); // room id -> messages

function roomId(a, b) {
  const [x, y] = [a, b].sort();
  return crypto.createHash('sha256').update(`${x}-${y}`).digest('hex');
}

function blockedEither(a, b) {
  return blocks.has(`${a}|${b}`) || blocks.has(`${b}|${a}`);
}

// ---- REST ------------------------------------------------------------------

function send(res, status, body) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': typeof body === 'string' ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

function badRequest(res, message) {
  send(res, 400, { message: [message], error: 'Bad Request', statusCode: 400 });
}

function readJSON(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'));
      } catch {
        resolve(null);
      }
    });
  });
}

async function handleHTTP(req, res) {
  const url = new URL(req.url, 'http://x');
  const parts = url.pathname.split('/').filter(Boolean);
  if (req.method === 'GET' && parts.length === 0) return send(res, 200, 'Hello World! ggggg');

  if (req.method === 'POST' && url.pathname === '/users') {
    const b = await readJSON(req);
    if (!b || typeof b.email !== 'string' || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(b.email)) {
      return badRequest(res, 'email must be an email');
    }
    if (typeof b.intraId !== 'string' || b.intraId === '') return badRequest(res, 'intraId should not be empty');
    if (uniques.has(`email:${b.email}`) || uniques.has(`intraId:${b.intraId}`)) {
      return send(res, 400, { status: 400, error: 'BadRequestException' });
    }
    const now = new Date().toISOString();
    const u = {
      id: crypto.randomUUID(), name: typeof b.name === 'string' ? b.name : null, email: b.email,
      intraId: b.intraId, Avatar: null, status: 'OFFLINE', isAuth: true, isTwoFactorEnabled: false,
      created_at: now, updated_at: now,
    };
    users.set(u.id, u);
    uniques.add(`email:${u.email}`);
    uniques.add(`intraId:${u.intraId}`);
    return send(res, 201, u);
  }

  if (req.method === 'POST' && url.pathname === '/users/friend') {
    const b = await readJSON(req);
    if (!b || !users.has(b.userId) || !users.has(b.friendId) || b.userId === b.friendId) {
      return send(res, 400, { status: 400, error: 'BadRequestException' });
    }
    if (friendRows.has(`${b.userId}|${b.friendId}`) || friendRows.has(`${b.friendId}|${b.userId}`)) {
      return send(res, 400, { status: 400, error: 'BadRequestException' });
    }
    if (blockedEither(b.userId, b.friendId)) return send(res, 403, { statusCode: 403, message: 'Forbidden' });
    const f = {
      id: crypto.randomUUID(), friendShipStatus: 'PENDING', userId: b.userId, friendId: b.friendId,
      created_at: new Date().toISOString(),
    };
    friendRows.set(`${f.userId}|${f.friendId}`, f);
    return send(res, 201, f);
  }

  // PUT /users/:userId/friend/:friendId
  if (req.method === 'PUT' && parts.length === 4 && parts[0] === 'users' && parts[2] === 'friend') {
    const f = friendRows.get(`${parts[1]}|${parts[3]}`);
    if (!f) return send(res, 404, { statusCode: 404, message: 'friendship not found' });
    f.friendShipStatus = 'ACCEPTED';
    for (const [a, b] of [[f.userId, f.friendId], [f.friendId, f.userId]]) {
      if (!accepted.has(a)) accepted.set(a, new Set());
      accepted.get(a).add(b);
    }
    return send(res, 200, f);
  }
  send(res, 404, { message: `Cannot ${req.method} ${url.pathname}`, error: 'Not Found', statusCode: 404 });
}

const httpServer = http.createServer((req, res) => {
  handleHTTP(req, res).catch((err) => {
    console.error('http', err);
    if (!res.headersSent) send(res, 500, { statusCode: 500, message: 'Internal server error' });
  });
});

// ---- identity --------------------------------------------------------------

function verifyHS256(token) {
  const parts = typeof token === 'string' ? token.split('.') : [];
  if (parts.length !== 3) return null;
  let header;
  let claims;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!header || header.alg !== 'HS256') return null;
  const want = crypto.createHmac('sha256', SECRET).update(`${parts[0]}.${parts[1]}`).digest();
  const got = Buffer.from(parts[2], 'base64url');
  if (got.length !== want.length || !crypto.timingSafeEqual(got, want)) return null;
  if (typeof claims.exp === 'number' && claims.exp * 1000 < Date.now()) return null;
  return typeof claims.id === 'string' && UUID.test(claims.id) ? claims : null;
}

// authenticate sets socket.data.userId, refuses bad credentials, and lets a
// socket without credentials in without an identity (as the Go server does).
function authenticate(socket, next) {
  const auth = socket.handshake.auth || {};
  let userId = null;
  if (typeof auth.token === 'string' && auth.token !== '') {
    const claims = verifyHS256(auth.token);
    if (!claims) return next(new Error('invalid token'));
    if (auth.userId && auth.userId !== claims.id) return next(new Error('auth.userId does not match the token'));
    userId = claims.id;
  } else if (typeof auth.userId === 'string' && auth.userId !== '') {
    if (AUTH_MODE !== 'compat') return next(new Error('unverified identity: AUTH_MODE=strict needs a token'));
    if (!UUID.test(auth.userId)) return next(new Error('auth.userId must be a UUID'));
    userId = auth.userId;
  }
  if (userId !== null && !users.has(userId)) return next(new Error('unknown user'));
  socket.data.userId = userId;
  next();
}

// ---- presence --------------------------------------------------------------

const io = new Server(httpServer, {
  path: '/socket.io/',
  serveClient: false,
  pingInterval: 25000,
  pingTimeout: 20000,
  maxHttpBufferSize: 1e6,
  cors: { origin: ['http://localhost:5173'], credentials: true },
});
const app = io.of('/appGateway');
const chat = io.of('/chatGateway');
const userRoom = (id) => `user:${id}`;

const presence = new Map(); // id -> { sockets, timer, status }

function notifyStatus(userId, status, lastSeenAt) {
  const rooms = [userRoom(userId)];
  for (const f of accepted.get(userId) || []) {
    if (!blockedEither(userId, f)) rooms.push(userRoom(f));
  }
  app.to(rooms).emit('userStatus', { userId, status, lastSeenAt });
}

function setStatus(userId, e, status) {
  if (e.status === status) return;
  e.status = status;
  const lastSeenAt = status === 'OFFLINE' ? new Date().toISOString() : null;
  const u = users.get(userId);
  if (u) u.status = status;
  notifyStatus(userId, status, lastSeenAt);
}

function connected(userId) {
  let e = presence.get(userId);
  if (!e) {
    e = { sockets: 0, timer: null, status: 'OFFLINE' };
    presence.set(userId, e);
  }
  e.sockets++;
  if (e.timer) {
    clearTimeout(e.timer);
    e.timer = null;
  }
  setStatus(userId, e, 'ONLINE');
}

function disconnected(userId) {
  const e = presence.get(userId);
  if (!e || e.sockets === 0) return;
  e.sockets--;
  if (e.sockets > 0) return;
  const expire = () => {
    e.timer = null;
    if (e.sockets > 0) return;
    setStatus(userId, e, 'OFFLINE');
    presence.delete(userId);
  };
  if (GRACE_MS <= 0) expire();
  else e.timer = setTimeout(expire, GRACE_MS);
}

// ---- events ----------------------------------------------------------------

class ClientError extends Error {}

// on registers an event handler that only identified sockets may use; a
// thrown ClientError becomes the socket's "exception" event.
function on(socket, event, handler) {
  socket.on(event, (...args) => {
    const ack = typeof args[args.length - 1] === 'function' ? args.pop() : null;
    try {
      if (!socket.data.userId) throw new ClientError(`this socket has no identity: connect with credentials to send ${event}`);
      handler(args[0], ack);
    } catch (err) {
      const message = err instanceof ClientError ? err.message : 'Internal server error';
      if (!(err instanceof ClientError)) console.error(event, err);
      socket.emit('exception', { status: 'error', message });
      if (ack) ack({ status: 'error', message });
    }
  });
}

function requireIDs(...pairs) {
  const problems = [];
  for (let i = 0; i < pairs.length; i += 2) {
    if (typeof pairs[i + 1] !== 'string' || !UUID.test(pairs[i + 1])) problems.push(`${pairs[i]} must be a UUID`);
  }
  if (problems.length) throw new ClientError(problems.join('; '));
}

function requireObject(p) {
  if (p === null || typeof p !== 'object' || Array.isArray(p)) throw new ClientError('payload must be an object');
}

function checkTags(...tags) {
  for (const t of tags) {
    if (t !== undefined && (typeof t !== 'string' || [...t].length > MAX_TAG)) {
      throw new ClientError(`stats and status must be at most ${MAX_TAG} characters`);
    }
  }
}

// A friend or block event goes to every /appGateway socket of the two users.
function relay(socket, event, p, otherField) {
  requireObject(p);
  checkTags(p.stats, p.status);
  requireIDs('userId', p.userId, otherField, p[otherField]);
  const me = socket.data.userId;
  if (p.userId === p[otherField]) throw new ClientError(`userId and ${otherField} must differ`);
  if (me !== p.userId && me !== p[otherField]) throw new ClientError(`you can only send ${event} for yourself`);
  const out = { userId: p.userId, [otherField]: p[otherField] };
  if (p.stats !== undefined) out.stats = p.stats;
  if (p.status !== undefined) out.status = p.status;
  app.to([userRoom(p.userId), userRoom(p[otherField])]).emit(event, out);
}

function onConnection(socket, register) {
  const userId = socket.data.userId;
  if (userId) {
    socket.join(userRoom(userId));
    connected(userId);
    socket.on('disconnect', () => disconnected(userId));
  }
  register(socket);
}

app.use(authenticate);
chat.use(authenticate);

app.on('connection', (socket) => onConnection(socket, (s) => {
  for (const ev of ['RequestFriendShip', 'CancelFriendShip', 'DeleteFriendShip', 'AcceptRequest', 'DeleteRequest']) {
    on(s, ev, (p) => relay(s, ev, p, 'friendId'));
  }
  on(s, 'BlockFriend', (p) => relay(s, 'BlockFriend', p, 'blockedId'));
  on(s, 'UnblockFriend', (p) => relay(s, 'UnblockFriend', p, 'blockedUserId'));
}));

chat.on('connection', (socket) => onConnection(socket, (s) => {
  const me = s.data.userId;
  on(s, 'joinRoom', (p) => {
    requireObject(p);
    requireIDs('senderId', p.senderId, 'recieverId', p.recieverId);
    if (p.senderId !== me) throw new ClientError('senderId must be your own id');
    if (p.senderId === p.recieverId) throw new ClientError('senderId and recieverId must differ');
    if (!users.has(p.recieverId)) throw new ClientError('user not found');
    const room = roomId(p.senderId, p.recieverId);
    if (!rooms.has(room)) {
      rooms.set(room, [{ content: '', senderId: p.senderId, recieverId: p.recieverId, roomId: room, seen: true, created_at: new Date() }]);
    }
    for (const r of s.rooms) {
      if (r !== s.id && r !== userRoom(me)) s.leave(r);
    }
    s.join(room);
    s.emit('joined', { roomName: room });
  });
  on(s, 'message', (p, ack) => {
    requireObject(p);
    requireIDs('senderId', p.senderId, 'recieverId', p.recieverId);
    if (typeof p.content !== 'string' || p.content.trim() === '') throw new ClientError('content should not be empty');
    if ([...p.content].length > MAX_MESSAGE) throw new ClientError(`content must be at most ${MAX_MESSAGE} characters`);
    if (p.senderId !== me) throw new ClientError('senderId must be your own id');
    if (p.senderId === p.recieverId) throw new ClientError('senderId and recieverId must differ');
    if (!users.has(p.recieverId)) throw new ClientError('user not found');
    if (blocks.has(`${p.recieverId}|${p.senderId}`)) {
      if (ack) ack({ status: 'ok' });
      return;
    }
    if (blocks.has(`${p.senderId}|${p.recieverId}`)) throw new ClientError('you blocked this user: unblock them to send messages');
    const room = roomId(p.senderId, p.recieverId);
    const msg = { content: p.content, senderId: p.senderId, recieverId: p.recieverId, roomId: room, seen: false, created_at: new Date() };
    if (!rooms.has(room)) rooms.set(room, []);
    rooms.get(room).push(msg);
    if (!s.rooms.has(room)) s.join(room);
    chat.to(room).emit('getMessage', { senderId: msg.senderId, receiverId: msg.recieverId, text: msg.content, room });
    chat.to(userRoom(msg.recieverId)).emit('refresh');
    app.to(userRoom(msg.recieverId)).emit('notifMessage', { content: msg.content, senderId: msg.senderId, recieverId: msg.recieverId });
    if (ack) ack({ status: 'ok' });
  });
}));

// ---- run -------------------------------------------------------------------

httpServer.listen(PORT, HOST, () => {
  console.log(`peer listening on :${PORT} auth_mode=${AUTH_MODE} presence_grace=${GRACE_MS}ms node=${process.version}`);
});

function shutdown() {
  io.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 3000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
