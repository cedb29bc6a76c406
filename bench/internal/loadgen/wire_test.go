package loadgen

import (
	"testing"

	"github.com/onlinenow/onlinenow/bench/internal/sio"
)

func TestStamp(t *testing.T) {
	tp := newTemplate(`42/chatGateway,["message",{"content":"` + stampSlot() + ` hi"}]`)
	const ns = int64(1764777600123456789)
	putStamp(tp.b, tp.at, ns)
	if got := stamp(tp.b); got != ns {
		t.Fatalf("stamp = %d, want %d (%s)", got, ns, tp.b)
	}
	if got := stamp([]byte(`42/x,["refresh"]`)); got != 0 {
		t.Errorf("stamp of a packet without one = %d", got)
	}
}

// TestReceivePathAllocs checks that classifying a received packet and
// reading its stamp do not allocate.
func TestReceivePathAllocs(t *testing.T) {
	frame := []byte(`42/chatGateway,["getMessage",{"senderId":"a","receiverId":"b","text":"@ts1764777600123456789 hi","room":"r"}]`)
	pl := len("42/chatGateway,")
	var n int
	allocs := testing.AllocsPerRun(1000, func() {
		switch string(sio.EventName(frame, pl)) {
		case "getMessage":
			n++
		case "refresh":
			n--
		}
		if sio.EventIs(frame, pl, "getMessage") && stamp(frame) > 0 {
			n++
		}
	})
	if allocs != 0 || n == 0 {
		t.Errorf("%.1f allocations per packet", allocs)
	}
}
