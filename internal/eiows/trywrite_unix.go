//go:build unix

package eiows

import "syscall"

// tryWrite makes one pass at writing b to rc's descriptor without waiting
// for it to become writable (Go's descriptors are non-blocking) and returns
// how many bytes the socket took: fewer than len(b), 0 included, when its
// buffer is full or on an error, which the caller leaves to a writer that
// waits (and reports the error).
func tryWrite(rc syscall.RawConn, b []byte) int {
	n := 0
	_ = rc.Write(func(fd uintptr) bool {
		for n < len(b) {
			m, err := syscall.Write(int(fd), b[n:])
			if err == syscall.EINTR {
				continue
			}
			if err != nil || m <= 0 {
				break
			}
			n += m
		}
		return true // done: never wait for the descriptor
	})
	return n
}
