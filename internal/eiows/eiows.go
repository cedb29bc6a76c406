// Package eiows is the server's Engine.IO WebSocket transport. It replaces
// the socket.io library's "websocket" transport through the engine's public
// transport list (ServerOptions.SetTransports) and keeps its contract:
// Engine.IO framing through the transport's parser, writable/"drain"/"ready"
// flow control, upgrades from polling (the engine drives the probe), close
// semantics and the read limit and origin check of the engine's upgrader.
//
// What differs is the write path. The library builds a gorilla
// PreparedMessage for every recipient of a broadcast and starts a goroutine
// for every queued write. Here each connection has an ordered queue and at
// most one writer goroutine, started when the queue gets work and ended when
// it is empty, which writes the already encoded Engine.IO frame (shared by
// all recipients of a broadcast) with one WriteMessage. Reads go through a
// scratch buffer pool shared by all connections instead of a fresh buffer
// per message.
package eiows

import (
	"bytes"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/zishang520/socket.io/parsers/engine/v3/packet"
	"github.com/zishang520/socket.io/servers/engine/v3/transports"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// closeTimeout bounds how long a server-side close may spend writing what is
// still queued and the close frame before the connection is cut.
const closeTimeout = time.Second

// maxPooledReadBuffer is the largest read buffer kept for reuse; a bigger
// one (a large upload) is left to the garbage collector.
const maxPooledReadBuffer = 64 << 10

// Builder makes the "websocket" transports of one engine server. It is a
// transports.TransportCtor: pass it in the engine's transport list.
type Builder struct {
	// readBufs holds scratch buffers for incoming messages. A message is
	// decoded (and copied) by the parser before its buffer is returned, so
	// idle connections hold no read buffer of their own.
	readBufs sync.Pool
}

var _ transports.TransportCtor = (*Builder)(nil)

// NewBuilder returns a transport builder.
func NewBuilder() *Builder {
	return &Builder{readBufs: sync.Pool{New: func() any { return new(bytes.Buffer) }}}
}

// Name is the transport's Engine.IO name, "websocket".
func (*Builder) Name() string { return transports.WEBSOCKET }

// HandlesUpgrades reports that the transport accepts upgraded requests.
func (*Builder) HandlesUpgrades() bool { return true }

// UpgradesTo is empty: a WebSocket is not upgraded further.
func (*Builder) UpgradesTo() []string { return nil }

// New returns the transport of the WebSocket in ctx, which the engine has
// already upgraded (with its origin check and read limit).
func (b *Builder) New(ctx *types.HttpContext) transports.Transport {
	t := &transport{Transport: transports.MakeTransport(), b: b}
	t.Prototype(t)
	t.Construct(ctx)
	return t
}

// outgoing is one queued packet; last marks the final packet of one Send,
// after which the engine expects a "drain".
type outgoing struct {
	p    *packet.Packet
	last bool
}

// transport is one Engine.IO WebSocket connection.
type transport struct {
	transports.Transport // the library's base: state, parser, events

	b    *Builder
	ws   *types.WebSocketConn
	idle time.Duration // read deadline per message; 0: none

	// mu guards the fields below. It is held only to move packets in and out
	// of queue and to change state: never during a write, a read or an emit.
	mu         sync.Mutex
	queue      []outgoing  // packets waiting for the writer, in order
	spare      []outgoing  // the writer's previous batch, reused as the next queue
	writing    bool        // a writer goroutine runs (it owns all writes)
	closing    bool        // DoClose ran: write what is queued, then the close frame
	closed     bool        // OnClose ran: nothing more is written
	closeBy    time.Time   // deadline of a closing transport
	closeTimer *time.Timer // cuts the connection if closing takes longer than closeTimeout
}

// Construct sets the transport up on the upgraded connection and starts
// its reader once the engine permits it.
func (t *transport) Construct(ctx *types.HttpContext) {
	t.Transport.Construct(ctx)
	t.idle = ctx.IdleTimeout
	t.ws = ctx.Websocket
	t.SetWritable(true)
	t.SetPerMessageDeflate(nil)
	if t.ws == nil || t.ws.Conn == nil {
		t.mu.Lock()
		t.closed = true
		t.mu.Unlock()
		t.Transport.OnClose()
		return
	}
	_ = t.ws.On("error", func(args ...any) {
		err, _ := firstArg(args).(error)
		t.OnError("websocket error", err)
	})
	_ = t.ws.Once("close", func(...any) { t.OnClose() })
	transports.StartReader(t, ctx.TransportReadPermission(), t.read)
}

func firstArg(args []any) any {
	if len(args) == 0 {
		return nil
	}
	return args[0]
}

// Name is "websocket".
func (*transport) Name() string { return transports.WEBSOCKET }

// HandlesUpgrades reports that the transport accepts upgraded requests.
func (*transport) HandlesUpgrades() bool { return true }

// Send queues packets for the writer and returns at once; it never does I/O.
// The transport is not writable until the writer has written them, so the
// engine gathers what comes meanwhile into its next Send (and volatile
// packets are dropped, as with the library's transport).
func (t *transport) Send(packets []*packet.Packet) {
	t.mu.Lock()
	if t.closing || t.closed {
		t.mu.Unlock()
		return
	}
	if len(packets) == 0 {
		t.queue = append(t.queue, outgoing{last: true})
	}
	for i, p := range packets {
		t.queue = append(t.queue, outgoing{p: p, last: i == len(packets)-1})
	}
	t.SetWritable(false)
	start := !t.writing
	t.writing = true
	t.mu.Unlock()
	if start {
		go t.write()
	}
}

// write is the connection's writer goroutine. Send or DoClose starts it when
// none runs; it writes the queue in order, emits "drain" after each Send's
// packets and "ready" when the queue is empty, and returns when the queue is
// empty, after the close frame of a closing transport, or on close or a
// write error.
func (t *transport) write() {
	var batch []outgoing
	for {
		t.mu.Lock()
		if t.closed || len(t.queue) == 0 {
			closing, closed := t.closing, t.closed
			closeBy := t.closeBy
			t.writing = false
			if cap(t.queue) > 16 {
				t.queue = nil // do not keep a burst's backlog array while idle
			}
			t.spare = nil
			t.mu.Unlock()
			if closing && !closed {
				_ = t.ws.WriteControl(websocket.CloseMessage,
					websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), closeBy)
				_ = t.ws.Close() // emits the connection's "close": OnClose
			}
			return
		}
		batch, t.queue = t.queue, t.spare[:0]
		closing, closeBy := t.closing, t.closeBy
		t.mu.Unlock()
		if closing {
			// The close deadline covers what is still queued. Only the
			// writer touches the connection's write deadline.
			_ = t.ws.SetWriteDeadline(closeBy)
		}

		drains := 0
		for i := range batch {
			if p := batch[i].p; p != nil {
				if err := t.writePacket(p); err != nil {
					clear(batch)
					t.writeFailed(err)
					return
				}
			}
			if batch[i].last {
				drains++
			}
		}
		clear(batch) // drop the packets, keep the array

		t.mu.Lock()
		t.spare = batch
		idle := len(t.queue) == 0 && !t.closed && !t.closing
		if idle {
			t.SetWritable(true)
		}
		t.mu.Unlock()
		for range drains {
			t.Emit("drain")
		}
		if idle {
			t.Emit("ready") // the engine flushes what it gathered: Send again
		}
	}
}

// writePacket writes one packet as one WebSocket message. A broadcast
// carries its Engine.IO frame already encoded, shared by all recipients;
// other packets are encoded here by the transport's parser.
func (t *transport) writePacket(p *packet.Packet) error {
	compress := true
	var frame types.BufferInterface
	if o := p.Options; o != nil {
		if o.Compress != nil && !*o.Compress {
			compress = false
		}
		frame = o.WsPreEncodedFrame
	}
	if frame == nil {
		var err error
		if frame, err = t.Parser().EncodePacket(p, t.SupportsBinary()); err != nil {
			return err
		}
	}
	data := frame.Bytes()
	if pmd := t.PerMessageDeflate(); pmd != nil {
		t.ws.EnableWriteCompression(compress && len(data) >= pmd.Threshold)
	}
	mt := websocket.BinaryMessage
	if _, ok := frame.(*types.StringBuffer); ok {
		mt = websocket.TextMessage
	}
	return t.ws.WriteMessage(mt, data)
}

// writeFailed ends the writer after a failed write: silently if the
// transport is closed already, else as a transport error.
func (t *transport) writeFailed(err error) {
	t.mu.Lock()
	closed := t.closed
	t.writing = false
	t.queue, t.spare = nil, nil
	t.mu.Unlock()
	if closed {
		return
	}
	if !isClosedConn(err) {
		t.OnError("websocket write error", err)
	}
	_ = t.ws.Close()
}

// read is the connection's reader goroutine, started by StartReader. Each
// message is read into a pooled buffer and handed to OnData, whose parser
// copies what it keeps. It returns when the connection fails or closes, and
// then closes the transport.
func (t *transport) read() {
	defer func() { _ = t.ws.Close() }() // emits "close" once: OnClose
	for {
		if t.idle > 0 {
			_ = t.ws.SetReadDeadline(time.Now().Add(t.idle))
		}
		mt, r, err := t.ws.NextReader()
		if err != nil {
			t.readFailed(err)
			return
		}
		buf := t.b.readBufs.Get().(*bytes.Buffer)
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			t.putReadBuf(buf)
			t.readFailed(err)
			return
		}
		switch mt {
		case websocket.TextMessage:
			t.OnData(types.NewStringBuffer(buf.Bytes()))
		case websocket.BinaryMessage:
			t.OnData(types.NewBytesBuffer(buf.Bytes()))
		}
		t.putReadBuf(buf)
	}
}

func (t *transport) putReadBuf(buf *bytes.Buffer) {
	if buf.Cap() <= maxPooledReadBuffer {
		t.b.readBufs.Put(buf)
	}
}

// readFailed reports a read error: a close frame from the peer or our own
// close is a plain close ("transport close" for the engine); anything else
// (a broken connection, the read limit, the idle deadline) is a transport
// error first.
func (t *transport) readFailed(err error) {
	var ce *websocket.CloseError
	if errors.As(err, &ce) || isClosedConn(err) {
		return
	}
	t.OnError("websocket error", err)
}

func isClosedConn(err error) bool { return errors.Is(err, net.ErrClosed) }

// DoClose closes the transport on the engine's request: the writer writes
// what is queued and a close frame, then closes the connection, within
// closeTimeout. fn runs at once.
func (t *transport) DoClose(fn types.Callable) {
	t.mu.Lock()
	start := false
	if !t.closing && !t.closed {
		t.closing = true
		t.closeBy = time.Now().Add(closeTimeout)
		t.closeTimer = time.AfterFunc(closeTimeout, func() { _ = t.ws.Close() })
		start = !t.writing
		t.writing = true
	}
	t.mu.Unlock()
	if start {
		go t.write()
	}
	if fn != nil {
		fn()
	}
}

// OnClose runs once when the connection is gone, whoever closed it: it
// drops what is queued, marks the transport closed (emitting "close") and
// releases the connection.
func (t *transport) OnClose() {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.closed = true
	t.queue, t.spare = nil, nil
	timer := t.closeTimer
	t.mu.Unlock()
	if timer != nil {
		timer.Stop()
	}
	t.Transport.OnClose()
	if t.ws != nil {
		_ = t.ws.Close()
	}
}
