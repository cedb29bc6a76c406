// onlinenow browser notifications, the page side (issue 7).
//
// A plain script with no dependencies; it defines one global,
// window.OnlineNowPush. It
//   - registers the service worker /push/sw.js (scope /push/),
//   - on enable() asks for notification permission and subscribes to Web
//     Push with the server's VAPID key (a failing subscribe is reported in
//     state().subscribeError; everything else keeps working),
//   - keeps its own Socket.IO connection to /appGateway over a native
//     WebSocket (the server serves no client bundle) and follows the inbox:
//     auth.lastSeq, then the "notification" and "unreadCount" events, with
//     reconnects that resume after the last seq seen,
//   - tells the server whether this tab is hidden ("visibility"), so that
//     it sends Web Push only when no tab is looked at,
//   - and, when every tab of this origin is hidden, shows each new
//     notification from one elected tab, with the tag the push path uses
//     ("onlinenow-<seq>"): if both fire, the browser replaces, never doubles.
//
// Usage:
//   OnlineNowPush.start({token});      // or no token: the accessToken cookie
//   button.onclick = () => OnlineNowPush.enable();
//   OnlineNowPush.on('notification', (n) => ...);
//   OnlineNowPush.state();             // {connected, leader, permission, ...}
(function (global) {
  'use strict';

  const NAMESPACE = '/appGateway';
  const CHANNEL = 'onlinenow-push'; // BroadcastChannel between the tabs
  const LEADER_LOCK = 'onlinenow-push-leader'; // Web Lock held by the alerting tab
  const TAB_LOCK = 'onlinenow-push-tab:'; // + tab id: held while the tab lives, so the others see it die
  const DISABLED_KEY = 'onlinenow-push:disabled'; // localStorage: alerts off in this origin
  const HEARTBEAT_MS = 10000; // a tab repeats its visibility to the others this often
  const PEER_TTL_MS = 30000; // a tab not heard from for this long is gone
  const PEER_GRACE_MS = 2000; // a tab just heard from is live even if its lock is not granted yet
  const RECONNECT_MIN_MS = 500;
  const RECONNECT_MAX_MS = 10000;
  const SUBSCRIBE_TIMEOUT_MS = 15000;
  const PREFS_TTL_MS = 10000; // muted types are re-read before an alert at most this often
  const CLOCK_SKEW_MS = 5000; // without the server's clock: how far the client's may be off
  const KEEP_RECENT = 50;

  // ------------------------------------------------------------ protocol

  // Socket.IO packet types (protocol 5), sent inside Engine.IO "message" (4).
  const CONNECT = 0;
  const DISCONNECT = 1;
  const EVENT = 2;
  const ACK = 3;
  const CONNECT_ERROR = 4;

  // encode returns the Engine.IO frame of one Socket.IO packet.
  function encode(type, nsp, data, id) {
    let out = '4' + type;
    if (nsp !== '/') out += nsp + ',';
    if (id !== undefined) out += id;
    if (data !== undefined) out += JSON.stringify(data);
    return out;
  }

  // decode parses the Socket.IO packet in an Engine.IO message (the text
  // after its leading "4"); null for what this client does not use.
  function decode(text) {
    const type = Number(text.charAt(0));
    if (!(type >= CONNECT && type <= CONNECT_ERROR)) return null; // binary packets carry nothing for us
    let i = 1;
    let nsp = '/';
    if (text.charAt(i) === '/') {
      const comma = text.indexOf(',', i);
      const end = comma === -1 ? text.length : comma;
      nsp = text.slice(i, end);
      i = end + 1;
    }
    let id;
    const digits = /^\d+/.exec(text.slice(i));
    if (digits) {
      id = Number(digits[0]);
      i += digits[0].length;
    }
    let data;
    if (i < text.length) {
      try {
        data = JSON.parse(text.slice(i));
      } catch {
        return null;
      }
    }
    return { type, nsp, id, data };
  }

  // Connection is one Socket.IO client of one namespace over a WebSocket,
  // reconnecting with backoff after a lost transport. It does not
  // reconnect after the server refused (CONNECT_ERROR) or closed (DISCONNECT)
  // the namespace, like socket.io-client.
  class Connection {
    // url: the ws(s) URL of /socket.io/; auth(): the CONNECT payload, asked
    // on every (re)connect; handlers: connect(), disconnect(reason),
    // event(name, data), refused(message).
    constructor(url, nsp, auth, handlers) {
      this.url = url;
      this.nsp = nsp;
      this.auth = auth;
      this.h = handlers;
      this.ws = null;
      this.connected = false;
      this.stopped = true;
      this.attempts = 0;
      this.retryTimer = 0;
      this.deadTimer = 0;
      this.nextAck = 0;
      this.acks = new Map(); // ack id -> callback, for this transport only
    }

    open() {
      this.stopped = false;
      this.dial();
    }

    close() {
      this.stopped = true;
      clearTimeout(this.retryTimer);
      if (this.ws) {
        if (this.connected) this.send(encode(DISCONNECT, this.nsp));
        this.drop('client close');
      }
    }

    // emit sends an event; ack, if given, gets the server's first answer.
    // Returns false when not connected (nothing is queued).
    emit(name, data, ack) {
      if (!this.connected) return false;
      let id;
      if (ack) {
        id = this.nextAck++;
        this.acks.set(id, ack);
      }
      this.send(encode(EVENT, this.nsp, [name, data], id));
      return true;
    }

    send(frame) {
      try {
        this.ws.send(frame);
      } catch {
        // The close event follows and reconnects.
      }
    }

    dial() {
      let ws;
      try {
        ws = new WebSocket(this.url);
      } catch (err) {
        this.h.disconnect(String(err && err.message ? err.message : err));
        this.retry();
        return;
      }
      this.ws = ws;
      ws.onmessage = (e) => {
        if (this.ws === ws && typeof e.data === 'string') this.frame(e.data);
      };
      ws.onclose = () => {
        if (this.ws === ws) this.drop('transport close');
      };
      ws.onerror = () => {}; // always followed by close
    }

    // frame handles one Engine.IO packet.
    frame(text) {
      switch (text.charAt(0)) {
        case '0': { // open: start the namespace and the liveness timer
          let open = {};
          try {
            open = JSON.parse(text.slice(1));
          } catch {}
          this.deadAfter = (open.pingInterval || 25000) + (open.pingTimeout || 20000);
          this.alive();
          this.send(encode(CONNECT, this.nsp, this.auth()));
          return;
        }
        case '2': // ping
          this.alive();
          this.send('3');
          return;
        case '1': // close
          this.drop('transport close');
          return;
        case '4':
          this.alive();
          this.packet(decode(text.slice(1)));
          return;
      }
    }

    packet(p) {
      if (!p || p.nsp !== this.nsp) return;
      switch (p.type) {
        case CONNECT:
          this.connected = true;
          this.attempts = 0;
          this.h.connect();
          return;
        case CONNECT_ERROR:
          this.stopped = true;
          this.drop('refused');
          this.h.refused(p.data && typeof p.data.message === 'string' ? p.data.message : 'connection refused');
          return;
        case DISCONNECT:
          this.stopped = true;
          this.drop('io server disconnect');
          return;
        case EVENT:
          if (Array.isArray(p.data) && typeof p.data[0] === 'string') {
            this.h.event(p.data[0], p.data[1]);
            if (p.id !== undefined) this.send(encode(ACK, this.nsp, [], p.id));
          }
          return;
        case ACK: {
          const cb = this.acks.get(p.id);
          this.acks.delete(p.id);
          if (cb) cb(Array.isArray(p.data) ? p.data[0] : undefined);
          return;
        }
      }
    }

    // alive (re)arms the timer that treats a silent server as gone.
    alive() {
      clearTimeout(this.deadTimer);
      this.deadTimer = setTimeout(() => this.drop('ping timeout'), this.deadAfter);
    }

    drop(reason) {
      const ws = this.ws;
      const was = this.connected;
      this.ws = null;
      this.connected = false;
      this.acks.clear();
      clearTimeout(this.deadTimer);
      if (ws) {
        ws.onmessage = ws.onclose = ws.onerror = null;
        try {
          ws.close();
        } catch {}
      }
      if (was || reason !== 'refused') this.h.disconnect(reason);
      this.retry();
    }

    retry() {
      clearTimeout(this.retryTimer);
      if (this.stopped) return;
      const base = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** this.attempts++);
      const delay = base / 2 + Math.random() * (base / 2);
      this.retryTimer = setTimeout(() => this.dial(), delay);
    }
  }

  // ------------------------------------------------------------ helpers

  const hasWindow = typeof document !== 'undefined';
  const pageHidden = () => hasWindow && document.visibilityState === 'hidden';
  const permissionNow = () => (typeof Notification === 'undefined' ? 'unsupported' : Notification.permission);
  const tabID = () => Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 10);

  function describe(err) {
    if (!err) return 'unknown error';
    return err.name && err.message ? err.name + ': ' + err.message : String(err.message || err);
  }

  function withTimeout(promise, ms, what) {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => {
        const err = new Error(what + ' took longer than ' + ms + ' ms');
        err.name = 'TimeoutError';
        reject(err);
      }, ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  // The raw bytes of a base64url string (the VAPID public key).
  function base64urlBytes(s) {
    const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4);
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function sameBytes(buf, bytes) {
    if (!buf) return false;
    const a = new Uint8Array(buf);
    return a.length === bytes.length && a.every((v, i) => v === bytes[i]);
  }

  function readDisabled() {
    try {
      return global.localStorage.getItem(DISABLED_KEY) === '1';
    } catch {
      return false;
    }
  }

  function writeDisabled(off) {
    try {
      if (off) global.localStorage.setItem(DISABLED_KEY, '1');
      else global.localStorage.removeItem(DISABLED_KEY);
    } catch {}
  }

  // ------------------------------------------------------------ the client

  // Client is one page's notification client; OnlineNowPush drives one.
  class Client {
    constructor(opts) {
      this.opts = {
        base: '', // server origin for REST and the socket; '' = this page's
        swUrl: '/push/sw.js',
        scope: '/push/',
        lastSeq: 0, // replay the inbox after this seq (0 = everything)
        token: '',
        auth: {}, // extra CONNECT fields (e.g. userId in compat mode)
        ...opts,
      };
      this.id = tabID();
      this.listeners = new Map(); // event name -> Set of functions
      this.peers = new Map(); // other tab id -> {hidden, seen}
      this.recent = []; // newest first
      this.s = {
        started: false,
        connected: false,
        inbox: false, // the server answered the opt-in (an unreadCount came)
        error: null, // why the socket is not connected, if it was refused
        disconnectReason: null,
        lastException: null, // the last "exception" event (a refused event)
        leader: false,
        permission: permissionNow(),
        alertsEnabled: !readDisabled(),
        swActive: false,
        swError: null,
        subscribed: false,
        subscription: null, // {id, endpoint, createdAt} as stored by the server
        subscribeError: null,
        lastSeq: typeof this.opts.lastSeq === 'number' ? this.opts.lastSeq : 0,
        visibilityAck: null, // the server's answer to the last "visibility"
        unread: null,
        shown: 0, // notifications this tab showed
        lastShown: null,
        lastDecision: null, // {seq, shown, reason}: the last notification's fate
        alertError: null,
      };
      // Notifications created before freshFrom (server clock, ms) are
      // history: listed, never alerted. start() sets it.
      this.freshFrom = 0;
      this.prefs = null;
      this.prefsAt = 0;
    }

    // ---- lifecycle

    start() {
      if (this.s.started) return;
      this.s.started = true;
      this.registration = this.registerWorker();
      this.startedAt = Date.now();
      this.freshFrom = this.startedAt - CLOCK_SKEW_MS;
      this.clock = this.loadPrefs(true);
      this.joinTabs();
      const url = new URL('/socket.io/?EIO=4&transport=websocket', this.opts.base || global.location.href);
      url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
      this.conn = new Connection(url.href, NAMESPACE, () => this.connectAuth(), {
        connect: () => this.onConnect(),
        disconnect: (reason) => this.set({ connected: false, inbox: false, disconnectReason: reason }),
        refused: (message) => this.set({ connected: false, error: message }),
        event: (name, data) => this.onEvent(name, data),
      });
      this.conn.open();
      this.onVisibility = () => this.visibilityChanged();
      this.onPageHide = () => this.post({ t: 'bye', id: this.id });
      this.onPageShow = (e) => e.persisted && this.post({ t: 'hello', id: this.id, hidden: pageHidden() });
      this.onWorkerMessage = (e) => this.workerMessage(e.data);
      if (hasWindow) {
        document.addEventListener('visibilitychange', this.onVisibility);
        global.addEventListener('pagehide', this.onPageHide);
        global.addEventListener('pageshow', this.onPageShow);
      }
      if (navigator.serviceWorker) navigator.serviceWorker.addEventListener('message', this.onWorkerMessage);
    }

    stop() {
      if (!this.s.started) return;
      this.s.started = false;
      this.conn.close();
      this.leaveTabs();
      if (hasWindow) {
        document.removeEventListener('visibilitychange', this.onVisibility);
        global.removeEventListener('pagehide', this.onPageHide);
        global.removeEventListener('pageshow', this.onPageShow);
      }
      if (navigator.serviceWorker) navigator.serviceWorker.removeEventListener('message', this.onWorkerMessage);
      this.set({ connected: false, leader: false });
    }

    // ---- state and listeners

    state() {
      return { ...this.s, permission: permissionNow(), hidden: pageHidden(), allHidden: this.allHidden(), tabs: this.peers.size + 1 };
    }

    set(patch) {
      Object.assign(this.s, patch);
      this.fire('state', this.state());
    }

    on(name, fn) {
      if (!this.listeners.has(name)) this.listeners.set(name, new Set());
      this.listeners.get(name).add(fn);
      return () => this.listeners.get(name).delete(fn);
    }

    fire(name, value) {
      for (const fn of this.listeners.get(name) || []) {
        try {
          fn(value);
        } catch (err) {
          setTimeout(() => {
            throw err;
          });
        }
      }
    }

    // ---- REST

    async api(method, path, body) {
      const headers = { Accept: 'application/json' };
      if (this.opts.token) headers.Authorization = 'Bearer ' + this.opts.token;
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      const res = await fetch(new URL(path, this.opts.base || global.location.href), {
        method,
        headers,
        credentials: 'include',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      let json = null;
      try {
        json = await res.json();
      } catch {}
      if (!res.ok) {
        const err = new Error(method + ' ' + path + ': ' + res.status + (json && json.message ? ' ' + json.message : ''));
        err.name = 'HTTPError';
        err.status = res.status;
        throw err;
      }
      return { json, date: res.headers.get('Date') };
    }

    // loadPrefs reads the muted types. The first call also draws the
    // history line on the server's clock, from the answer's Date header, so
    // that a skewed client clock neither alerts history nor drops new ones:
    // the server wrote Date (whole seconds, rounded down) less than
    // (now - startedAt) after the page started, so the page started at
    // Date - (now - startedAt) or later on its clock.
    async loadPrefs(first) {
      try {
        const { json, date } = await this.api('GET', '/notifications/preferences');
        this.prefs = json && typeof json === 'object' ? json : null;
        this.prefsAt = Date.now();
        if (first && date && !Number.isNaN(Date.parse(date))) {
          this.freshFrom = Date.parse(date) - (this.prefsAt - this.startedAt);
        }
      } catch {
        // Keep the last known preferences; none means nothing is muted.
      }
    }

    async muted(type) {
      if (Date.now() - this.prefsAt > PREFS_TTL_MS) await this.loadPrefs(false);
      return !!this.prefs && this.prefs[type] === false;
    }

    // ---- service worker and Web Push

    async registerWorker() {
      if (!navigator.serviceWorker) {
        this.set({ swError: 'service workers are not available (an insecure origin?)' });
        return null;
      }
      try {
        const reg = await navigator.serviceWorker.register(this.opts.swUrl, { scope: this.opts.scope });
        await this.activeWorker(reg);
        this.set({ swActive: true });
        this.checkSubscription(reg);
        return reg;
      } catch (err) {
        this.set({ swError: describe(err) });
        return null;
      }
    }

    // activeWorker resolves once reg has an active worker (showNotification
    // needs one).
    activeWorker(reg) {
      if (reg.active) return Promise.resolve(reg);
      return new Promise((resolve, reject) => {
        const w = reg.installing || reg.waiting;
        if (!w) return reject(new Error('no service worker is installing'));
        w.addEventListener('statechange', () => {
          if (w.state === 'activated') resolve(reg);
          if (w.state === 'redundant') reject(new Error('the service worker became redundant'));
        });
      });
    }

    async checkSubscription(reg) {
      try {
        const sub = reg.pushManager && (await reg.pushManager.getSubscription());
        if (sub) this.set({ subscribed: true, subscription: { endpoint: sub.endpoint } });
      } catch {}
    }

    // enable asks for permission (call it from a click), turns the page's
    // alerts on in this origin and subscribes to Web Push. A failing
    // subscribe is reported as subscribeError and the page alerts stay on.
    async enable() {
      if (typeof Notification === 'undefined') {
        this.set({ permission: 'unsupported', subscribeError: 'notifications are not supported here' });
        return this.state();
      }
      let permission = Notification.permission;
      if (permission === 'default') {
        try {
          permission = await Notification.requestPermission();
        } catch (err) {
          this.set({ subscribeError: describe(err) });
        }
      }
      writeDisabled(false);
      this.post({ t: 'alerts', on: true });
      this.set({ permission, alertsEnabled: true });
      if (permission !== 'granted') {
        this.set({ subscribed: false, subscribeError: 'notification permission is ' + permission });
        return this.state();
      }
      await this.subscribe();
      return this.state();
    }

    async subscribe() {
      this.set({ subscribeError: null });
      try {
        const reg = await this.registration;
        if (!reg) throw new Error('no service worker: ' + (this.s.swError || 'not registered'));
        if (!reg.pushManager) throw new Error('Web Push is not supported here');
        const { json } = await this.api('GET', '/push/vapid-public-key');
        if (!json || typeof json.publicKey !== 'string') throw new Error('the server sent no VAPID public key');
        const key = base64urlBytes(json.publicKey);
        let sub = await reg.pushManager.getSubscription();
        if (sub && !sameBytes(sub.options.applicationServerKey, key)) {
          // Subscribed under another key: that subscription is useless now.
          await sub.unsubscribe();
          sub = null;
        }
        if (!sub) {
          sub = await withTimeout(
            reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key }),
            SUBSCRIBE_TIMEOUT_MS,
            'pushManager.subscribe',
          );
        }
        const { json: stored } = await this.api('POST', '/push/subscriptions', sub.toJSON());
        this.set({ subscribed: true, subscription: stored });
      } catch (err) {
        this.set({ subscribed: false, subscription: null, subscribeError: describe(err) });
      }
    }

    // disable removes this browser's push subscription (from the server,
    // then from the push service) and turns the page alerts off in this
    // origin.
    async disable() {
      writeDisabled(true);
      this.post({ t: 'alerts', on: false });
      this.set({ alertsEnabled: false });
      try {
        const reg = await this.registration;
        const sub = reg && reg.pushManager && (await reg.pushManager.getSubscription());
        if (sub) {
          try {
            await this.api('DELETE', '/push/subscriptions', { endpoint: sub.endpoint });
          } catch (err) {
            if (err.status !== 404) throw err; // 404: the server had already forgotten it
          }
          await sub.unsubscribe();
        }
        this.set({ subscribed: false, subscription: null, subscribeError: null });
      } catch (err) {
        this.set({ subscribeError: describe(err) });
      }
      return this.state();
    }

    workerMessage(msg) {
      if (msg && msg.type === 'onlinenow-push:navigate' && typeof msg.url === 'string') {
        this.fire('navigate', msg.url);
      }
    }

    // ---- the socket

    connectAuth() {
      const auth = { ...this.opts.auth, lastSeq: this.s.lastSeq };
      if (this.opts.token) auth.token = this.opts.token;
      return auth;
    }

    onConnect() {
      this.set({ connected: true, error: null });
      this.reportVisibility();
    }

    onEvent(name, data) {
      switch (name) {
        case 'notification':
          this.onNotification(data);
          return;
        case 'unreadCount':
          this.set({ unread: data, inbox: true });
          this.fire('unreadCount', data);
          return;
        case 'exception':
          this.set({ lastException: data });
          return;
      }
    }

    reportVisibility() {
      const hidden = pageHidden();
      this.conn.emit('visibility', { hidden }, (ack) => this.set({ visibilityAck: { hidden, ack } }));
    }

    onNotification(n) {
      if (!n || typeof n.seq !== 'number' || n.seq <= this.s.lastSeq) return; // replayed twice
      this.recent.unshift(n);
      if (this.recent.length > KEEP_RECENT) this.recent.length = KEEP_RECENT;
      this.set({ lastSeq: n.seq });
      this.fire('notification', n);
      this.alert(n);
    }

    // alert shows n as a browser notification when it is new, this tab
    // is the elected one, every tab is hidden, and its type is not muted.
    // state().lastDecision tells what became of the last one, and why.
    async alert(n) {
      const reason = await this.holdBack(n);
      if (reason) {
        this.set({ lastDecision: { seq: n.seq, shown: false, reason } });
        return;
      }
      const reg = await this.registration;
      const d = displayOf(n);
      const options = { body: d.body, tag: d.tag, data: { url: d.url, seq: n.seq, type: n.type } };
      if (d.icon) options.icon = d.icon;
      try {
        await reg.showNotification(d.title, options);
        this.set({
          shown: this.s.shown + 1,
          lastShown: { seq: n.seq, tag: d.tag },
          lastDecision: { seq: n.seq, shown: true, reason: null },
        });
      } catch (err) {
        this.set({ alertError: describe(err), lastDecision: { seq: n.seq, shown: false, reason: 'showNotification failed' } });
      }
    }

    // holdBack returns why n is not shown by this tab, or '' to show it.
    async holdBack(n) {
      if (!(await this.leaderSoon())) return 'another tab alerts';
      if (!this.s.alertsEnabled) return 'alerts disabled';
      await this.prunePeers(); // a visible tab that died must not hold the alerts back
      if (!this.allHidden()) return 'a tab is visible';
      if (n.readAt) return 'read';
      await this.clock;
      if (!(Date.parse(n.created_at) >= this.freshFrom)) return 'older than the page';
      if (permissionNow() !== 'granted') return 'no permission';
      if (await this.muted(n.type)) return 'muted';
      if (!(await this.registration)) return 'no service worker';
      return '';
    }

    // leaderSoon tells whether this tab alerts. Just after start its
    // request for the leader lock may not be granted yet: if no tab holds
    // the lock, the grant is on its way, so it waits for it (a second at
    // most) rather than drop what the first moments bring.
    async leaderSoon() {
      if (this.s.leader || !this.lockAbort || !navigator.locks.query) return this.s.leader;
      try {
        const { held } = await navigator.locks.query();
        if (held.some((l) => l.name === LEADER_LOCK)) return this.s.leader;
      } catch {
        return this.s.leader;
      }
      let timer;
      await Promise.race([this.leaderGranted, new Promise((resolve) => {
        timer = setTimeout(resolve, 1000);
      })]);
      clearTimeout(timer);
      return this.s.leader;
    }

    // ---- the other tabs

    // joinTabs starts the visibility exchange with the other tabs and the
    // election of the tab that alerts.
    joinTabs() {
      if (typeof BroadcastChannel !== 'undefined') {
        this.channel = new BroadcastChannel(CHANNEL);
        this.channel.onmessage = (e) => this.tabMessage(e.data);
      }
      this.heartbeat = setInterval(() => {
        this.post({ t: 'state', id: this.id, hidden: pageHidden() });
        this.prunePeers();
      }, HEARTBEAT_MS);
      if (navigator.locks && navigator.locks.request) {
        // Two locks: this tab's own, held while it lives (a tab that dies
        // without a word is seen gone by the others), and the leader's,
        // which the browser hands to the next tab in line when its holder
        // goes away.
        this.lockAbort = new AbortController();
        this.releaseLocks = [];
        const hold = (name, granted) => navigator.locks
          .request(name, { signal: this.lockAbort.signal }, () => {
            if (!this.s.started) return undefined;
            granted();
            return new Promise((release) => this.releaseLocks.push(release));
          })
          .catch(() => {}); // aborted by stop()
        let granted;
        this.leaderGranted = new Promise((resolve) => {
          granted = resolve;
        });
        hold(TAB_LOCK + this.id, () => {});
        hold(LEADER_LOCK, () => {
          this.set({ leader: true });
          granted();
          this.prunePeers(); // the last leader may have just died
        });
      } else {
        this.electByID();
      }
      this.post({ t: 'hello', id: this.id, hidden: pageHidden() });
    }

    leaveTabs() {
      this.post({ t: 'bye', id: this.id });
      clearInterval(this.heartbeat);
      if (this.channel) this.channel.close();
      this.channel = null;
      if (this.lockAbort) this.lockAbort.abort();
      for (const release of this.releaseLocks || []) release();
      this.releaseLocks = [];
      this.peers.clear();
    }

    post(msg) {
      if (this.channel) this.channel.postMessage(msg);
    }

    tabMessage(msg) {
      if (!msg || typeof msg !== 'object') return;
      switch (msg.t) {
        case 'hello':
          this.peers.set(msg.id, { hidden: !!msg.hidden, seen: Date.now() });
          this.post({ t: 'state', id: this.id, hidden: pageHidden() });
          break;
        case 'state':
          this.peers.set(msg.id, { hidden: !!msg.hidden, seen: Date.now() });
          break;
        case 'bye':
          this.peers.delete(msg.id);
          break;
        case 'alerts':
          this.s.alertsEnabled = !!msg.on;
          break;
        default:
          return;
      }
      if (!this.lockAbort) this.electByID();
      this.fire('state', this.state());
    }

    // prunePeers forgets the tabs not heard from for PEER_TTL_MS, and,
    // with Web Locks, those whose tab lock is no longer held.
    async prunePeers() {
      const now = Date.now();
      let live = null;
      if (this.lockAbort && navigator.locks.query) {
        try {
          const { held } = await navigator.locks.query();
          live = new Set(held.map((l) => l.name));
        } catch {}
      }
      let changed = false;
      for (const [id, p] of this.peers) {
        const dead = Date.now() - p.seen > PEER_TTL_MS || (live && !live.has(TAB_LOCK + id) && now - p.seen > PEER_GRACE_MS);
        if (dead) changed = this.peers.delete(id);
      }
      if (!this.lockAbort) this.electByID();
      if (changed) this.fire('state', this.state());
    }

    // electByID is the election without Web Locks: the live tab with the
    // smallest id alerts.
    electByID() {
      let leader = true;
      for (const id of this.peers.keys()) if (id < this.id) leader = false;
      if (leader !== this.s.leader) this.s.leader = leader;
    }

    allHidden() {
      if (!pageHidden()) return false;
      const now = Date.now();
      for (const p of this.peers.values()) if (!p.hidden && now - p.seen <= PEER_TTL_MS) return false;
      return true;
    }

    visibilityChanged() {
      this.post({ t: 'state', id: this.id, hidden: pageHidden() });
      this.reportVisibility();
      this.fire('state', this.state());
    }
  }

  // displayOf returns the server's display fields of n, or plain ones.
  function displayOf(n) {
    const d = n.display && typeof n.display === 'object' ? n.display : {};
    const str = (v, dflt) => (typeof v === 'string' && v !== '' ? v : dflt);
    return {
      title: str(d.title, 'onlinenow'),
      body: str(d.body, String(n.type || 'notification').replace(/_/g, ' ')),
      icon: str(d.icon, ''),
      tag: str(d.tag, 'onlinenow-' + n.seq),
      url: str(d.url, '/'),
    };
  }

  // ------------------------------------------------------------ the global

  let client = null;

  global.OnlineNowPush = {
    // start connects this tab; options: token, base, swUrl, scope, lastSeq,
    // auth. Calling it again restarts with the new options.
    start(opts = {}) {
      if (client) client.stop();
      const listeners = client ? client.listeners : new Map();
      client = new Client(opts);
      client.listeners = listeners;
      client.start();
      return client.state();
    },
    stop() {
      if (client) client.stop();
    },
    enable() {
      return client ? client.enable() : Promise.reject(new Error('OnlineNowPush.start first'));
    },
    disable() {
      return client ? client.disable() : Promise.reject(new Error('OnlineNowPush.start first'));
    },
    // on(name, fn): 'state', 'notification', 'unreadCount', 'navigate' (a
    // click on a notification asks this tab to show a URL). Returns an
    // unsubscribe function.
    on(name, fn) {
      if (!client) {
        client = new Client({});
      }
      return client.on(name, fn);
    },
    state() {
      return client ? client.state() : { started: false };
    },
    // recent returns the notifications received, newest first.
    recent() {
      return client ? client.recent.slice() : [];
    },
  };
})(typeof self !== 'undefined' ? self : this);
