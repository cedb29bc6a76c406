// Package proc samples a process's CPU time and resident memory from
// /proc (Linux only).
package proc

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// clockTick is USER_HZ, the unit of utime and stime in /proc/<pid>/stat;
// it is 100 on every Linux architecture Go supports.
const clockTick = 100

// Sample is one reading of a process.
type Sample struct {
	At    time.Time
	CPU   time.Duration // user + system time, all threads
	RSSKB int64         // VmRSS in KiB
}

// Read samples process pid. A pid of 0 gives an empty sample and no error,
// for runs without a server to watch.
func Read(pid int) (Sample, error) {
	s := Sample{At: time.Now()}
	if pid == 0 {
		return s, nil
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// The command name (field 2) may hold spaces: fields count from the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return s, fmt.Errorf("proc stat %d: malformed", pid)
	}
	f := bytes.Fields(stat[i+1:])
	// After ')': state is field 3, so utime (14) and stime (15) are f[11], f[12].
	if len(f) < 13 {
		return s, fmt.Errorf("proc stat %d: short", pid)
	}
	ut, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	st, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return s, fmt.Errorf("proc stat %d: bad times", pid)
	}
	s.CPU = time.Duration(ut+st) * time.Second / clockTick

	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for line := range bytes.Lines(status) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			fs := bytes.Fields(rest)
			if len(fs) > 0 {
				s.RSSKB, _ = strconv.ParseInt(string(fs[0]), 10, 64)
			}
			break
		}
	}
	return s, nil
}
