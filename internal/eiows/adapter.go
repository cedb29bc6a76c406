package eiows

import (
	"github.com/zishang520/socket.io/parsers/socket/v3/parser"
	"github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// AdapterBuilder makes the namespaces' adapters: the library's in-memory
// adapter with a broadcast that writes one shared frame straight to the
// recipients' WebSocket transports. Pass it to ServerOptions.SetAdapter.
type AdapterBuilder struct{}

var _ socket.AdapterConstructor = AdapterBuilder{}

// New returns the adapter of nsp.
func (AdapterBuilder) New(nsp socket.Namespace) socket.Adapter {
	a := &adapter{Adapter: socket.MakeAdapter()}
	a.Prototype(a)
	a.Construct(nsp)
	return a
}

// adapter is the library's adapter (rooms, acks, everything else) with its
// own Broadcast.
type adapter struct {
	socket.Adapter
}

// Broadcast sends packet to the sockets opts selects, as the library's
// adapter does, except for the write: the packet is encoded once into a
// WebSocket frame, and a recipient whose transport takes it (WriteFrame)
// gets it queued there directly. The others (polling, an engine socket
// holding packets back, compression) get it through the engine, as before.
// Volatile packets and packets with binary attachments take the library's
// path for everyone.
func (a *adapter) Broadcast(p *parser.Packet, opts *socket.BroadcastOptions) {
	flags := &socket.BroadcastFlags{}
	if opts != nil && opts.Flags != nil {
		flags = opts.Flags
	}
	if flags.Volatile {
		a.Adapter.Broadcast(p, opts)
		return
	}
	p.Nsp = a.Nsp().Name()
	encoded := a.Nsp().Server().Encoder().Encode(p)
	text, ok := singleText(encoded)
	if !ok {
		a.Adapter.Broadcast(p, opts)
		return
	}
	// The Engine.IO "message" packet: "4" then the Socket.IO packet.
	payload := make([]byte, 0, 1+len(text))
	payload = append(append(payload, '4'), text...)
	frame := TextFrame(payload)
	writeOpts := &socket.WriteOptions{PreEncoded: true}
	writeOpts.Compress = flags.Compress
	writeOpts.WsPreEncodedFrame = types.NewStringBuffer(payload)

	a.each(opts, func(s *socket.Socket) {
		if notify := s.NotifyOutgoingListeners(); notify != nil {
			notify(p)
		}
		client := s.Client()
		conn := client.Conn()
		if conn.ReadyState() == "open" && WriteFrame(conn.Transport(), frame) {
			return
		}
		client.WriteToEngine(encoded, writeOpts)
	})
}

// singleText returns the text of encoded when it is one text packet.
func singleText(encoded []types.BufferInterface) ([]byte, bool) {
	if len(encoded) != 1 {
		return nil, false
	}
	s, ok := encoded[0].(*types.StringBuffer)
	if !ok {
		return nil, false
	}
	return s.Bytes(), true
}

// each calls fn for every connected socket in opts' rooms (every socket
// when there are none) and not in its except rooms, once each.
func (a *adapter) each(opts *socket.BroadcastOptions, fn func(*socket.Socket)) {
	var rooms, except *types.Set[socket.Room]
	if opts != nil {
		rooms, except = opts.Rooms, opts.Except
	}
	var skip map[socket.SocketId]struct{}
	if except != nil && except.Len() > 0 {
		skip = map[socket.SocketId]struct{}{}
		for _, room := range except.Keys() {
			if ids, ok := a.Rooms().Load(room); ok {
				for _, id := range ids.Keys() {
					skip[id] = struct{}{}
				}
			}
		}
	}
	sockets := a.Nsp().Sockets()
	visit := func(id socket.SocketId) {
		if _, no := skip[id]; no {
			return
		}
		if s, ok := sockets.Load(id); ok && s.Connected() {
			fn(s)
		}
	}
	if rooms == nil || rooms.Len() == 0 {
		a.Sids().Range(func(id socket.SocketId, _ *types.Set[socket.Room]) bool {
			visit(id)
			return true
		})
		return
	}
	keys := rooms.Keys()
	if len(keys) == 1 { // one room: no socket twice
		if ids, ok := a.Rooms().Load(keys[0]); ok {
			for _, id := range ids.Keys() {
				visit(id)
			}
		}
		return
	}
	seen := map[socket.SocketId]struct{}{}
	for _, room := range keys {
		ids, ok := a.Rooms().Load(room)
		if !ok {
			continue
		}
		for _, id := range ids.Keys() {
			if _, dup := seen[id]; dup {
				continue
			}
			seen[id] = struct{}{}
			visit(id)
		}
	}
}
