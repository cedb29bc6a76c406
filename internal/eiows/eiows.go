// Package eiows is the server's Engine.IO WebSocket transport. It replaces
// the socket.io library's "websocket" transport through the engine's public
// transport list (ServerOptions.SetTransports) and keeps its contract:
// Engine.IO framing through the transport's parser, writable/"drain"/"ready"
// flow control, upgrades from polling (the engine drives the probe), close
// semantics and the read limit and origin check of the engine's upgrader.
//
// What differs is the write path. The library builds a gorilla
// PreparedMessage for every recipient of a broadcast and starts a goroutine
// for every queued write, and gorilla sets a write deadline on every frame.
// Here each connection has an ordered queue and at most one writer
// goroutine, started when the queue gets work and ended when it is empty. It
// frames the already encoded Engine.IO packet (shared by all recipients of a
// broadcast) itself, into a pooled buffer, and writes everything queued with
// one Write on the connection. Reads go through a scratch buffer pool shared
// by all connections instead of a fresh buffer per message.
//
// AdapterBuilder (adapter.go) goes one step further for room broadcasts: it
// encodes the packet once into a whole WebSocket frame and queues that frame
// on each recipient's transport (WriteFrame), past the engine socket,
// whenever doing so cannot reorder anything.
//
// gorilla still reads and answers protocol errors; its control writes
// (WriteControl) are single Writes, as are ours, and the net.Conn serialises
// Writes, so frames never interleave. (One exception: a broadcast frame
// the socket took only in part is finished by the writer, and a close
// frame gorilla writes for a protocol error could land in between; the
// connection is being closed for that error anyway.) Pings from the peer are answered
// through our queue, and a peer's close frame is answered by our writer,
// because gorilla's WriteControl leaves a write deadline on the connection.
// If permessage-deflate was negotiated (the engine's perMessageDeflate
// option, off by default), data frames go through gorilla's writer instead,
// which compresses them.
package eiows

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"github.com/zishang520/socket.io/parsers/engine/v3/packet"
	"github.com/zishang520/socket.io/servers/engine/v3/transports"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// closeTimeout bounds how long a server-side close may spend writing what is
// still queued and the close frame before the connection is cut.
const closeTimeout = time.Second

// maxPooledBuffer is the largest read or write buffer kept for reuse; a
// bigger one (a large message) is left to the garbage collector.
const maxPooledBuffer = 64 << 10

// maxCopied is the largest payload copied into the write buffer; a bigger
// one is written from where it is, after its header (writev).
const maxCopied = 16 << 10

// WebSocket opcodes (RFC 6455, 5.2) and the header bits we use.
const (
	opText   = 1
	opBinary = 2
	opClose  = 8
	opPong   = 10
	finBit   = 0x80
)

// Builder makes the "websocket" transports of one engine server. It is a
// transports.TransportCtor: pass it in the engine's transport list.
type Builder struct {
	// readBufs holds scratch buffers for incoming messages. A message is
	// decoded (and copied) by the parser before its buffer is returned, so
	// idle connections hold no read buffer of their own.
	readBufs sync.Pool
	// writeBufs holds *[]byte buffers in which a writer frames a batch; it
	// is returned after the batch's Write, so idle connections hold none.
	writeBufs sync.Pool
}

var _ transports.TransportCtor = (*Builder)(nil)

// NewBuilder returns a transport builder.
func NewBuilder() *Builder {
	return &Builder{
		readBufs:  sync.Pool{New: func() any { return new(bytes.Buffer) }},
		writeBufs: sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }},
	}
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
	t.attached = ctx.Query().Peek("sid") == "" // not an upgrade
	t.Prototype(t)
	t.Construct(ctx)
	return t
}

// outgoing is one queued packet, or (p nil, op set) a control frame with
// payload ctl, or (raw set) a complete WebSocket frame written as it is (a
// broadcast's, see Frame); last marks the final packet of one Send, after
// which the engine expects a "drain".
type outgoing struct {
	p    *packet.Packet
	op   byte
	ctl  []byte
	raw  []byte
	last bool
}

// transport is one Engine.IO WebSocket connection.
type transport struct {
	transports.Transport // the library's base: state, parser, events

	b    *Builder
	ws   *types.WebSocketConn
	nc   net.Conn        // ws's connection, which our writer writes frames to
	rc   syscall.RawConn // nc's descriptor, for WriteFrame's attempt (nil over TLS)
	idle time.Duration   // how long the peer may stay silent; 0: forever

	// mu guards queue to closeTimer. It is held only to move packets in and
	// out of queue and to change state: never during a write, a read or an
	// emit.
	mu         sync.Mutex
	queue      []outgoing  // packets waiting for the writer, in order
	spare      []outgoing  // the writer's previous batch, reused as the next queue
	writing    bool        // a writer goroutine runs (it owns all writes)
	closing    bool        // DoClose ran: write what is queued, then the close frame
	closed     bool        // OnClose ran: nothing more is written
	closeBy    time.Time   // deadline of a closing transport
	closeTimer *time.Timer // cuts the connection if closing takes longer than closeTimeout
	// attached is false while the transport is the candidate of an upgrade
	// from polling: the engine socket still writes to the polling
	// transport and may hold packets for it. It turns true once the
	// engine has switched to this transport and flushed what it held.
	attached bool
	// readying is true while the writer emits "ready" (the engine flushes
	// what it held back into Send): packets held until then are not queued
	// yet.
	readying bool

	readDeadline time.Time // the reader's: when the read deadline was last moved

	// refused is set when Writable answered false: the engine may then hold
	// packets back, and the writer emits "ready" when it is writable again.
	// Without it, "ready" (an engine flush) would follow every write.
	refused atomic.Bool
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
	t.nc = t.ws.NetConn()
	if sc, ok := t.nc.(syscall.Conn); ok {
		t.rc, _ = sc.SyscallConn()
	}
	_ = t.ws.On("error", func(args ...any) {
		err, _ := firstArg(args).(error)
		t.OnError("websocket error", err)
	})
	_ = t.ws.Once("close", func(...any) { t.OnClose() })
	t.ws.SetPingHandler(func(data string) error {
		t.control(opPong, []byte(data))
		return nil
	})
	t.ws.SetCloseHandler(func(int, string) error { return nil }) // read answers it
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

// Writable reports whether the engine may Send now. A false answer is
// recorded before the state is read again, so that a writer turning the
// transport writable in between sees it and emits "ready".
func (t *transport) Writable() bool {
	if t.Transport.Writable() {
		return true
	}
	t.refused.Store(true)
	return t.Transport.Writable()
}

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
	t.wakeWriter()
}

// Frame is a complete WebSocket text frame, encoded once and written as it
// is to every recipient of a broadcast (see WriteFrame).
type Frame struct{ b []byte }

// TextFrame returns the frame of a text message with payload: an unmasked,
// final server frame.
func TextFrame(payload []byte) *Frame {
	b := make([]byte, 0, len(payload)+10)
	return &Frame{b: append(appendHeader(b, opText, len(payload)), payload...)}
}

// WriteFrame writes f to tr, or queues it for tr's writer, and reports
// true when tr is this package's transport and the frame can go out
// without passing through the engine socket: it is attached to its engine socket, open, not compressing, and
// the engine holds nothing back for it (which the frame would overtake).
// Otherwise it does nothing and reports false, and the caller writes
// through the engine, which keeps the order.
//
// This is the broadcast path of Adapter: the engine socket would allocate
// a packet per recipient, emit five events for it and wait for a "drain";
// here a recipient costs a write attempt or an append to its queue.
func WriteFrame(tr transports.Transport, f *Frame) bool {
	t, ok := tr.(*transport)
	if !ok || t.PerMessageDeflate() != nil {
		return false
	}
	t.mu.Lock()
	if t.closing || t.closed || !t.attached || t.readying || t.refused.Load() {
		t.mu.Unlock()
		return false
	}
	// As after a Send: the engine holds its own packets until the frame is
	// written, and "ready" then brings them, in order.
	t.SetWritable(false)
	if t.writing || len(t.queue) > 0 || t.rc == nil {
		t.queue = append(t.queue, outgoing{raw: f.b})
		t.wakeWriter()
		return true
	}
	// Nothing is being written: this goroutine is the writer for one
	// attempt that does not wait (the socket takes what fits in its buffer).
	// The rest, if any, goes to a writer goroutine ahead of anything queued
	// meanwhile. Written here, a broadcast's frames leave during the loop
	// over its recipients, not after it, and an idle recipient costs no
	// goroutine.
	t.writing = true
	t.mu.Unlock()
	n := tryWrite(t.rc, f.b)
	t.mu.Lock()
	if n < len(f.b) {
		t.queue = append(t.queue, outgoing{})
		copy(t.queue[1:], t.queue)
		t.queue[0] = outgoing{raw: f.b[n:]}
	}
	if len(t.queue) > 0 || t.closing || t.closed {
		t.mu.Unlock()
		go t.write() // writes the rest, or closes, or cleans up
		return true
	}
	t.writing = false
	t.SetWritable(true)
	t.mu.Unlock()
	t.ready()
	return true
}

// upgraded marks a transport that replaced polling as attached, once the
// engine has handled the client's "upgrade" packet: it switched to this
// transport and flushed what it held, synchronously, in that handling.
func (t *transport) upgraded() {
	t.mu.Lock()
	t.attached = true
	t.mu.Unlock()
}

// control queues a control frame (a pong) for the writer.
func (t *transport) control(op byte, payload []byte) {
	t.mu.Lock()
	if t.closing || t.closed {
		t.mu.Unlock()
		return
	}
	t.queue = append(t.queue, outgoing{op: op, ctl: payload})
	t.wakeWriter()
}

// wakeWriter, called with mu held after queueing, marks the writer busy,
// unlocks mu and starts the writer goroutine if none runs.
func (t *transport) wakeWriter() {
	start := !t.writing
	t.writing = true
	t.mu.Unlock()
	if start {
		go t.write()
	}
}

// write is the connection's writer goroutine. Send, control or DoClose
// starts it when none runs; it writes the queue in order, emits "drain"
// after each Send's packets and "ready" when it is writable again after
// refusing the engine, and returns when the queue is empty, after the close
// frame of a closing transport, or on close or a write error.
func (t *transport) write() {
	var batch []outgoing
	for {
		t.mu.Lock()
		if t.closed || len(t.queue) == 0 {
			closing, closed := t.closing, t.closed
			closeBy := t.closeBy
			t.writing = false
			// Keep one small array for the next burst; drop a backlog's.
			if cap(t.queue) < cap(t.spare) {
				t.queue = t.spare[:0]
			}
			if cap(t.queue) > 4 {
				t.queue = nil
			}
			t.spare = nil
			t.mu.Unlock()
			if closing && !closed {
				t.writeClose(closeBy)
				_ = t.ws.Close() // emits the connection's "close": OnClose
			}
			return
		}
		batch, t.queue = t.queue, t.spare[:0]
		t.mu.Unlock()

		drains, err := t.writeBatch(batch)
		clear(batch) // drop the packets, keep the array
		if err != nil {
			t.writeFailed(err)
			return
		}

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
			t.ready()
		}
	}
}

// ready emits "ready" if the transport refused the engine while it was
// busy: the engine flushes what it held back (Send again). Until it has,
// WriteFrame must not queue ahead of those packets.
func (t *transport) ready() {
	if !t.refused.Load() {
		return
	}
	t.mu.Lock()
	t.readying = true
	t.mu.Unlock()
	t.refused.Store(false)
	t.Emit("ready")
	t.mu.Lock()
	t.readying = false
	t.mu.Unlock()
}

// writeBatch writes the batch in order and returns how many Sends it
// completed. Frames are gathered in a pooled buffer and written with one
// Write (or one writev for a large payload).
func (t *transport) writeBatch(batch []outgoing) (drains int, err error) {
	if t.PerMessageDeflate() != nil {
		return t.writeBatchDeflate(batch)
	}
	bp := t.b.writeBufs.Get().(*[]byte)
	buf := (*bp)[:0]
	defer func() {
		if cap(buf) <= maxPooledBuffer {
			*bp = buf[:0]
			t.b.writeBufs.Put(bp)
		}
	}()
	conn := t.nc
	for i := range batch {
		o := &batch[i]
		if o.raw != nil {
			if buf, err = gather(conn, buf, o.raw); err != nil {
				return drains, err
			}
			continue
		}
		op, data := o.op, o.ctl
		if o.p != nil {
			var text bool
			if text, data, err = t.frame(o.p); err != nil {
				return drains, err
			}
			op = opBinary
			if text {
				op = opText
			}
		}
		if op != 0 {
			if buf, err = gather(conn, appendHeader(buf, op, len(data)), data); err != nil {
				return drains, err
			}
		}
		if o.last {
			drains++
		}
	}
	if len(buf) > 0 {
		_, err = conn.Write(buf)
	}
	return drains, err
}

// gather appends data to buf, the batch being framed; a large data is not
// copied: buf and data go out at once (writev) and gather returns buf
// emptied.
func gather(conn net.Conn, buf, data []byte) ([]byte, error) {
	if len(data) <= maxCopied {
		return append(buf, data...), nil
	}
	bufs := net.Buffers{buf, data}
	_, err := bufs.WriteTo(conn)
	return buf[:0], err
}

// writeBatchDeflate writes the batch through gorilla, which compresses
// data frames when permessage-deflate was negotiated.
func (t *transport) writeBatchDeflate(batch []outgoing) (drains int, err error) {
	pmd := t.PerMessageDeflate()
	for i := range batch {
		o := &batch[i]
		if o.p == nil {
			if o.op != 0 {
				err = t.ws.WriteControl(int(o.op), o.ctl, time.Time{})
			}
		} else {
			var text bool
			var data []byte
			if text, data, err = t.frame(o.p); err == nil {
				compress := o.p.Options == nil || o.p.Options.Compress == nil || *o.p.Options.Compress
				t.ws.EnableWriteCompression(compress && len(data) >= pmd.Threshold)
				mt := websocket.BinaryMessage
				if text {
					mt = websocket.TextMessage
				}
				err = t.ws.WriteMessage(mt, data)
			}
		}
		if err != nil {
			return drains, err
		}
		if o.last {
			drains++
		}
	}
	return drains, nil
}

// frame returns the Engine.IO frame of p and whether it is text. A
// broadcast carries it already encoded, shared by all recipients; other
// packets are encoded here by the transport's parser.
func (t *transport) frame(p *packet.Packet) (text bool, data []byte, err error) {
	var f types.BufferInterface
	if p.Options != nil {
		f = p.Options.WsPreEncodedFrame
	}
	if f == nil {
		if f, err = t.Parser().EncodePacket(p, t.SupportsBinary()); err != nil {
			return false, nil, err
		}
	}
	_, text = f.(*types.StringBuffer)
	return text, f.Bytes(), nil
}

// appendHeader appends the header of an unmasked, final server frame.
func appendHeader(b []byte, op byte, n int) []byte {
	b = append(b, finBit|op)
	switch {
	case n < 126:
		return append(b, byte(n))
	case n <= 0xFFFF:
		return binary.BigEndian.AppendUint16(append(b, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, 127), uint64(n))
	}
}

// writeClose writes a normal-closure close frame, by closeBy at the latest.
func (t *transport) writeClose(closeBy time.Time) {
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	if t.PerMessageDeflate() != nil {
		_ = t.ws.WriteControl(websocket.CloseMessage, msg, closeBy)
		return
	}
	conn := t.nc
	_ = conn.SetWriteDeadline(closeBy)
	_, _ = conn.Write(append(appendHeader(make([]byte, 0, 2+len(msg)), opClose, len(msg)), msg...))
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
// copies what it keeps. It returns when the connection fails or closes.
// After the peer's close frame the transport closes like a server-side
// close (our writer answers it); after anything else the connection is
// closed at once.
func (t *transport) read() {
	handled := make(chan struct{}) // a message's handling goroutine is done
	for {
		t.moveReadDeadline()
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
		var data types.BufferInterface
		switch mt {
		case websocket.TextMessage:
			data = types.NewStringBuffer(buf.Bytes())
		case websocket.BinaryMessage:
			data = types.NewBytesBuffer(buf.Bytes())
		}
		if data != nil {
			// The engine and Socket.IO handle the message on a goroutine
			// of its own, which the reader waits for: handling (a
			// namespace connect runs the auth middleware) needs a deep
			// stack, and a goroutine keeps a grown stack while it waits
			// in the next read, for the whole life of an idle connection.
			go func() {
				t.OnData(data)
				handled <- struct{}{}
			}()
			<-handled
			if mt == websocket.TextMessage && buf.Len() == 1 && buf.Bytes()[0] == '5' { // the Engine.IO "upgrade" packet
				t.upgraded()
			}
		}
		t.putReadBuf(buf)
	}
}

// moveReadDeadline keeps the read deadline between 3/4 of the idle timeout
// and the idle timeout ahead, moving it at most every quarter of it rather
// than at every message.
func (t *transport) moveReadDeadline() {
	if t.idle <= 0 {
		return
	}
	now := time.Now()
	if now.Sub(t.readDeadline) < t.idle/4 {
		return
	}
	t.readDeadline = now
	_ = t.ws.SetReadDeadline(now.Add(t.idle))
}

func (t *transport) putReadBuf(buf *bytes.Buffer) {
	if buf.Cap() <= maxPooledBuffer {
		t.b.readBufs.Put(buf)
	}
}

// readFailed ends the transport after a read error. The peer's close frame
// ("transport close" for the engine) is answered by the writer, which then
// closes the connection; our own close needs nothing more; anything else (a
// broken connection, the read limit, the idle deadline) is a transport
// error, and the connection is closed at once.
func (t *transport) readFailed(err error) {
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure:
		t.Close()
	case isClosedConn(err):
		_ = t.ws.Close()
	case errors.As(err, &ce): // 1006: the connection ended without a close frame
		_ = t.ws.Close()
	default:
		t.OnError("websocket error", err)
		_ = t.ws.Close()
	}
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
