// /channelGateway and /channel (contract 3.4, 4.4, 5.2, 5.3; issue 5): the
// frontend's sequences with exact payloads and recipients, moderation rules,
// passwords, timed bans and mutes, and that a non-member receives nothing.
import { describe, test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, waitFor, expectNone, drain, sleep, ISO_MS, UUID } from './harness.mjs';

const MODE = 'strict';
const ctx = useServer({ authMode: MODE });
const NS = '/channelGateway';
const CHANNEL_KEYS = ['_count', 'channelName', 'channelOwnerId', 'channelType', 'created_at', 'hasPassword', 'id', 'updated_at'];
const MEMBER_KEYS = ['bannedTime', 'channelId', 'created_at', 'id', 'mutedTime', 'role', 'unbanneTime', 'unmuteTime', 'userId'];

let owner, member, outsider, oSock, mSock, xSock, tag;

beforeEach(async () => {
  const { srv } = ctx;
  [owner, member, outsider] = await srv.createUsers('owner', 'member', 'outsider');
  oSock = await srv.connectAs(NS, owner, MODE);
  mSock = await srv.connectAs(NS, member, MODE);
  xSock = await srv.connectAs(NS, outsider, MODE);
  tag = Math.random().toString(36).slice(2, 8);
  await sleep(50);
  drain(oSock, mSock, xSock);
});

async function create(type, password = '') {
  const { srv } = ctx;
  const name = `${type.toLowerCase()}_${tag}`;
  oSock.emit('createChannel', { channelName: name, channelType: type, channelPassword: password, channelOwnerId: owner.id });
  assert.equal(await waitFor(oSock, 'onMessage'), `${owner.name} has created channel: ${name}`);
  assert.equal(await waitFor(oSock, 'refrechCreateChannel'), undefined);
  const mine = await srv.get(`/channel/${owner.id}/myAllChannels`);
  const ch = mine.json.find((c) => c.channelName === name);
  assert.ok(ch, `channel ${name} not in myAllChannels`);
  return ch;
}

async function join(sock, user, ch, password = '') {
  sock.emit('joinChannel', { userId: user.id, channelId: ch.id, channelPasword: password });
  assert.equal(await waitFor(sock, 'joinedSuccessfully'), undefined);
}

const iso = (ms) => new Date(Date.now() + ms).toISOString();

describe('channels', () => {
  test('create PUBLIC, join, post: only members hear it; REST listings match; no password anywhere', async () => {
    const { srv } = ctx;
    const ch = await create('PUBLIC');
    assert.deepEqual(Object.keys(ch).sort(), CHANNEL_KEYS);
    assert.deepEqual(ch._count, { channelMember: 1 });
    assert.match(ch.created_at, ISO_MS);
    assert.match(ch.id, UUID);

    const disc = await srv.get(`/channel/${member.id}/allChannels`);
    assert.ok(disc.json.some((c) => c.id === ch.id));

    await join(mSock, member, ch);
    assert.equal(await waitFor(oSock, 'onMessage'), `${member.name} has joined channel: ${ch.channelName}`);
    assert.equal(await waitFor(mSock, 'onMessage'), `${member.name} has joined channel: ${ch.channelName}`);
    await waitFor(oSock, 'refrechMember');
    await waitFor(mSock, 'refrechMember');

    mSock.emit('messageChannel', { content: 'hello', userId: member.id, channelId: ch.id });
    const want = { content: 'hello', userId: member.id, channelId: ch.id };
    assert.deepStrictEqual(await waitFor(oSock, 'onMessage'), want);
    assert.deepStrictEqual(await waitFor(mSock, 'onMessage'), want);
    await expectNone(xSock);

    const msgs = await srv.get(`/channel/${ch.id}/channelMessage`, { as: member });
    assert.deepEqual(msgs.json.map((m) => [m.content, m.userId]), [['hello', member.id]]);
    const m = await srv.get(`/channel/${ch.id}/member/${member.id}`);
    assert.deepEqual(Object.keys(m.json).sort(), MEMBER_KEYS);
    assert.equal((await srv.get(`/channel/${ch.id}/memberStatus/${member.id}`)).text, 'MEMBER');
    assert.equal((await srv.get(`/channel/${ch.id}/memberStatus/${outsider.id}`)).text, '');
    assert.deepEqual((await srv.get(`/channel/${ch.id}/member`)).json.map((x) => x.userId), [member.id]);
    assert.deepEqual((await srv.get(`/channel/${member.id}/myAllChannels`)).json.map((c) => c.id), [ch.id]);
    for (const path of [`/channel/${ch.id}`, `/channel/${owner.id}/myAllChannels`, `/channel/${member.id}/allChannels`]) {
      assert.ok(!(await srv.get(path)).text.includes('channelPassword'), path);
    }
    // The outsider cannot post.
    xSock.emit('messageChannel', { content: 'spam', userId: outsider.id, channelId: ch.id });
    assert.equal(await waitFor(xSock, 'error'), 'You are not a member of this channel');
    await expectNone([oSock, mSock]);
  });

  test('PROTECTED: wrong and right passwords; the hash is never served', async () => {
    const { srv } = ctx;
    const ch = await create('PROTECTED', 's3cret');
    assert.equal(ch.hasPassword, true);
    mSock.emit('joinChannel', { userId: member.id, channelId: ch.id, channelPasword: 'nope' });
    assert.equal(await waitFor(mSock, 'error'), 'Invalid password');
    assert.equal((await srv.get(`/channel/${ch.id}/member/${member.id}`)).text, '');
    await join(mSock, member, ch, 's3cret');
    const got = await srv.get(`/channel/${ch.id}`);
    assert.equal(got.status, 200);
    assert.ok(!('channelPassword' in got.json));
  });

  test('PRIVATE: never listed, joined by id', async () => {
    const { srv } = ctx;
    const ch = await create('PRIVATE');
    assert.ok(!(await srv.get(`/channel/${member.id}/allChannels`)).json.some((c) => c.id === ch.id));
    // Strict mode: a PRIVATE channel's details are for its members.
    assert.equal((await srv.get(`/channel/${ch.id}`, { as: owner })).status, 200);
    assert.equal((await srv.get(`/channel/${ch.id}`, { as: member })).status, 403);
    assert.equal((await srv.get(`/channel/${ch.id}`)).status, 401);
    await join(mSock, member, ch);
    assert.equal((await srv.get(`/channel/${ch.id}`, { as: member })).status, 200);
    assert.equal((await srv.get(`/channel/00000000-0000-4000-8000-000000000000`)).status, 404);
  });

  test('promote, demote, kick with redirect and memberKickedSuccessfully; refusals', async () => {
    const { srv } = ctx;
    const ch = await create('PUBLIC');
    await join(mSock, member, ch);
    await join(xSock, outsider, ch);
    await sleep(100);
    drain(oSock, mSock, xSock);

    // A plain member cannot moderate; nobody moderates the owner.
    mSock.emit('kickMember', { channelId: ch.id, userId: outsider.id });
    assert.equal(await waitFor(mSock, 'error'), 'Only the channel owner and its admins can do this');
    oSock.emit('createAdmin', { channelId: ch.id, userId: member.id });
    await waitFor(oSock, 'refrechMember');
    assert.deepEqual((await srv.get(`/channel/${ch.id}/admin`)).json.map((a) => a.userId), [member.id]);
    mSock.emit('banMember', { channelId: ch.id, userId: owner.id, bannedTime: iso(60000) });
    assert.equal(await waitFor(mSock, 'error'), 'Nobody can do this to the channel owner');
    oSock.emit('createMember', { channelId: ch.id, userId: member.id });
    await waitFor(oSock, 'refrechMember');
    assert.equal((await srv.get(`/channel/${ch.id}/memberStatus/${member.id}`)).text, 'MEMBER');
    drain(oSock, mSock, xSock);

    oSock.emit('kickMember', { channelId: ch.id, userId: outsider.id });
    assert.equal(await waitFor(oSock, 'memberKickedSuccessfully'), undefined);
    assert.equal(await waitFor(xSock, 'redirectAfterGetKicked'), undefined);
    assert.equal((await srv.get(`/channel/${ch.id}/member/${outsider.id}`)).text, '');
    drain(oSock, mSock, xSock);
    mSock.emit('messageChannel', { content: 'bye', userId: member.id, channelId: ch.id });
    await waitFor(oSock, 'onMessage');
    await expectNone(xSock);
    xSock.emit('joinChannel', { userId: outsider.id, channelId: ch.id, channelPasword: '' });
    assert.equal(await waitFor(xSock, 'error'), 'You are kicked from this Channel');
  });

  test('ban and mute with short durations expire on their own with refrechMember', async () => {
    const { srv } = ctx;
    const ch = await create('PUBLIC');
    await join(mSock, member, ch);
    await join(xSock, outsider, ch);
    await sleep(100);
    drain(oSock, mSock, xSock);

    oSock.emit('banMember', { channelId: ch.id, userId: member.id, bannedTime: iso(1200) });
    for (const s of [oSock, mSock, xSock]) await waitFor(s, 'refrechMember');
    assert.equal((await srv.get(`/channel/${ch.id}/memberStatus/${member.id}`)).text, 'BANNED_MEMBER');
    oSock.emit('muteMember', { channelId: ch.id, userId: outsider.id, mutedTime: iso(800) });
    for (const s of [oSock, xSock]) await waitFor(s, 'refrechMember');
    await expectNone(mSock, 'refrechMember', 50);
    drain(oSock, mSock, xSock);

    // Banned: cannot post, join or read; muted: cannot post.
    mSock.emit('messageChannel', { content: 'x', userId: member.id, channelId: ch.id });
    assert.equal(await waitFor(mSock, 'error'), 'You are banned from this channel');
    mSock.emit('joinChannel', { userId: member.id, channelId: ch.id, channelPasword: '' });
    assert.equal(await waitFor(mSock, 'error'), 'You are banned from this channel');
    xSock.emit('messageChannel', { content: 'y', userId: outsider.id, channelId: ch.id });
    assert.equal(await waitFor(xSock, 'error'), 'You are muted in this channel');
    oSock.emit('messageChannel', { content: 'owner speaks', userId: owner.id, channelId: ch.id });
    await waitFor(xSock, 'onMessage');
    await expectNone(mSock, 'onMessage');

    // Expiry: the mute, then the ban, each announced to the room.
    await waitFor(xSock, 'refrechMember', 3000);
    assert.equal((await srv.get(`/channel/${ch.id}/memberStatus/${outsider.id}`)).text, 'MEMBER');
    await waitFor(mSock, 'refrechMember', 3000);
    assert.equal((await srv.get(`/channel/${ch.id}/memberStatus/${member.id}`)).text, 'MEMBER');
    drain(oSock, mSock, xSock);
    mSock.emit('messageChannel', { content: 'back', userId: member.id, channelId: ch.id });
    assert.deepStrictEqual(await waitFor(xSock, 'onMessage'), { content: 'back', userId: member.id, channelId: ch.id });
    assert.deepStrictEqual(await waitFor(mSock, 'onMessage'), { content: 'back', userId: member.id, channelId: ch.id });
  });

  test('leave, rename, delete; only the owner renames and deletes', async () => {
    const { srv } = ctx;
    const ch = await create('PUBLIC');
    await join(mSock, member, ch);
    await sleep(100);
    drain(oSock, mSock, xSock);
    mSock.emit('editChannelName', { channelId: ch.id, userId: member.id, updatedChannelName: 'hijack' });
    assert.equal(await waitFor(mSock, 'error'), 'Invalid Owner: only the channel owner can do this');
    mSock.emit('removeChannel', { channelId: ch.id, userId: owner.id });
    assert.equal(await waitFor(mSock, 'error'), 'userId must be your own id');
    oSock.emit('leaveChannel', { channelId: ch.id, userId: owner.id });
    assert.match(await waitFor(oSock, 'error'), /owner cannot leave/);

    mSock.emit('leaveChannel', { channelId: ch.id, userId: member.id });
    assert.equal(await waitFor(mSock, 'leavedSuccessfully'), undefined);
    assert.equal(await waitFor(oSock, 'onMessage'), `${member.name} has left channel: ${ch.channelName}`);
    await waitFor(oSock, 'refrechMember');

    const name = `renamed_${tag}`;
    oSock.emit('editChannelName', { channelId: ch.id, userId: owner.id, updatedChannelName: name });
    assert.equal(await waitFor(oSock, 'newChannelName'), name);
    assert.equal((await srv.get(`/channel/${ch.id}`)).json.channelName, name);
    oSock.emit('removeChannel', { channelId: ch.id, userId: owner.id });
    await waitFor(oSock, 'channelDeletedSuccessfully');
    assert.equal((await srv.get(`/channel/${ch.id}`)).status, 404);
    await expectNone([mSock, xSock]);
  });

  test('bad input: error to the sender only, nothing written', async () => {
    const { srv } = ctx;
    for (const [payload, msg] of [
      [{ channelName: '', channelType: 'PUBLIC', channelPassword: '', channelOwnerId: owner.id }, 'channelName should not be empty'],
      [{ channelName: `x_${tag}`, channelType: 'SECRET', channelPassword: '', channelOwnerId: owner.id }, /channelType must be one of/],
      [{ channelName: `y_${tag}`, channelType: 'PROTECTED', channelPassword: '', channelOwnerId: owner.id }, /channelPassword should not be empty/],
      [{ channelName: 5, channelType: 'PUBLIC', channelOwnerId: owner.id }, 'channelName must be a string'],
    ]) {
      oSock.emit('createChannel', payload);
      const got = await waitFor(oSock, 'error');
      if (msg instanceof RegExp) assert.match(got, msg);
      else assert.equal(got, msg);
    }
    await expectNone([mSock, xSock]);
    assert.deepEqual((await srv.get(`/channel/${owner.id}/myAllChannels`)).json, []);
  });
});
