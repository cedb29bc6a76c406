// onlinenow's service worker (issue 7): shows each Web Push as a
// notification and, on a click, brings up the page it names.
//
// A push carries {title, body, icon, tag, url, seq, type}: the "display"
// fields of the inbox notification, so the tag ("onlinenow-<seq>") is the
// one the page uses when it shows the same notification itself, and the
// browser replaces one with the other instead of showing it twice.
'use strict';

// What a push without a readable payload shows.
const GENERIC = { title: 'onlinenow', body: 'You have a new notification.', tag: 'onlinenow' };

// Take over at once: a new version serves the next push, not the next visit.
self.addEventListener('install', (event) => event.waitUntil(self.skipWaiting()));
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  event.waitUntil(showPush(readPayload(event.data)));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(openPage(event.notification.data));
});

// The push service replaced or dropped our subscription: subscribe again
// and tell the server (identified by the accessToken cookie).
self.addEventListener('pushsubscriptionchange', (event) => {
  event.waitUntil(resubscribe(event.oldSubscription, event.newSubscription));
});

// readPayload returns the push's JSON object, or null when there is none
// or it is not a JSON object.
function readPayload(data) {
  if (!data) return null;
  try {
    const v = data.json();
    return v && typeof v === 'object' && !Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}

function text(v) {
  return typeof v === 'string' ? v : '';
}

// notificationOf maps a push payload (or null) to showNotification's
// arguments.
function notificationOf(msg) {
  if (!msg) {
    return { title: GENERIC.title, options: { body: GENERIC.body, tag: GENERIC.tag, data: { url: '/', seq: null, type: null } } };
  }
  const options = {
    body: text(msg.body),
    tag: text(msg.tag) || GENERIC.tag,
    data: {
      url: text(msg.url) || '/',
      seq: typeof msg.seq === 'number' ? msg.seq : null,
      type: text(msg.type) || null,
    },
  };
  if (text(msg.icon)) options.icon = msg.icon;
  return { title: text(msg.title) || GENERIC.title, options };
}

function showPush(msg) {
  const { title, options } = notificationOf(msg);
  return self.registration.showNotification(title, options);
}

// openPage focuses a window showing the notification's URL, else one of
// the same origin (asked to show the URL), else opens the URL.
async function openPage(data) {
  const url = new URL(text(data && data.url) || '/', self.location.origin).href;
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const exact = windows.find((c) => c.url === url);
  if (exact) return exact.focus();
  const origin = new URL(url).origin;
  const near = windows.find((c) => new URL(c.url).origin === origin);
  if (near) {
    near.postMessage({ type: 'onlinenow-push:navigate', url });
    return near.focus();
  }
  return self.clients.openWindow(url);
}

async function resubscribe(oldSub, newSub) {
  let sub = newSub;
  if (!sub) {
    const res = await fetch('/push/vapid-public-key', { credentials: 'include' });
    const { publicKey } = await res.json();
    sub = await self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: publicKey });
  }
  const json = (body) => ({
    credentials: 'include',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  await fetch('/push/subscriptions', { method: 'POST', ...json(sub.toJSON()) });
  if (oldSub && oldSub.endpoint !== sub.endpoint) {
    await fetch('/push/subscriptions', { method: 'DELETE', ...json({ endpoint: oldSub.endpoint }) });
  }
}
