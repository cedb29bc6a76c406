package gateways

import (
	"sync"
	"time"

	"github.com/zishang520/socket.io/servers/socket/v3"
)

// registrationWait bounds how long a connecting socket's packet reader is
// held (see connectBarrier); a socket whose client left during the
// handshake is never registered.
const registrationWait = 2 * time.Second

// connectBarrier works around a race in the Socket.IO library. A
// namespace CONNECT runs the middlewares on the connection's packet reader,
// then hands the rest to the socket's task queue, which writes the CONNECT
// ack to the client and only then registers the socket with its client.
// A client that emits as soon as it sees the ack (socket.io-client flushes
// the events buffered before the connection) can have that event read
// before the registration: the library then finds no socket for the
// namespace and force-closes the whole connection ("invalid state").
//
// The barrier is the namespace's last middleware: it holds the packet
// reader until the socket is registered and every "connection" listener
// has run (they run after the registration, in one task of the socket's
// queue; the barrier is released by the next task). So the client's next
// packet is read only once it can be routed to a handler, and a close that
// follows the CONNECT reaches the disconnect listeners.
type connectBarrier struct {
	mu      sync.Mutex
	waiting map[*socket.Socket]chan struct{}
}

// secure installs the identity middleware and the connect barrier on nsp.
// Call it before any other middleware or listener is added.
func (g *Gateways) secure(nsp socket.Namespace) {
	b := &connectBarrier{waiting: map[*socket.Socket]chan struct{}{}}
	nsp.Use(g.authenticate)
	nsp.Use(b.middleware)
	nsp.On("connection", func(args ...any) {
		if s, ok := args[0].(*socket.Socket); ok {
			// The connection listeners run in one task of the socket's
			// queue: release the reader in the next task, once every
			// listener has installed its handlers (disconnect included).
			s.Enqueue(func() { b.registered(s) })
		}
	})
}

func (b *connectBarrier) middleware(s *socket.Socket, next func(*socket.ExtendedError)) {
	ready := make(chan struct{})
	b.mu.Lock()
	b.waiting[s] = ready
	b.mu.Unlock()
	// A connection that closes first is never registered: its close
	// releases the reader too.
	conn := s.Conn()
	_ = conn.Once("close", func(...any) { b.registered(s) })
	next(nil) // queues the connection on the socket's task queue
	if conn.ReadyState() == "closed" {
		b.registered(s)
	}
	timer := time.NewTimer(registrationWait)
	select {
	case <-ready:
	case <-timer.C:
	}
	timer.Stop()
	b.mu.Lock()
	delete(b.waiting, s)
	b.mu.Unlock()
}

// registered releases the reader held for s.
func (b *connectBarrier) registered(s *socket.Socket) {
	b.mu.Lock()
	ready := b.waiting[s]
	delete(b.waiting, s)
	b.mu.Unlock()
	if ready != nil {
		close(ready)
	}
}
