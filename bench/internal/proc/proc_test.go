package proc

import (
	"os"
	"testing"
)

func TestReadSelf(t *testing.T) {
	s, err := Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.RSSKB <= 0 {
		t.Errorf("RSS %d KiB", s.RSSKB)
	}
	if s.CPU < 0 {
		t.Errorf("CPU %v", s.CPU)
	}
}
