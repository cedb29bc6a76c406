//go:build !unix

package eiows

import "syscall"

// tryWrite writes nothing here: the writer goroutine writes everything.
func tryWrite(syscall.RawConn, []byte) int { return 0 }
