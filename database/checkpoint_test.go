package database_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/onlinenow/onlinenow/database"
)

// TestCheckpointer: the server's connection leaves its writes in the WAL
// (no checkpoint of its own below the fallback), and the Checkpointer's
// connection copies them into the database file while the writer goes on;
// Run stops when its context ends.
func TestCheckpointer(t *testing.T) {
	path := t.TempDir() + "/db.sqlite"
	db, err := database.OpenSQLite(path, database.GormConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer database.Close(db)
	if err := db.Exec("CREATE TABLE blobs (v BLOB)").Error; err != nil {
		t.Fatal(err)
	}
	size := func() int64 {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	insert := func(n int) { // n rows of about a page each, in one statement
		t.Helper()
		if err := db.Exec(`WITH RECURSIVE i(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM i WHERE k < ?)
			INSERT INTO blobs (v) SELECT zeroblob(4000) FROM i`, n).Error; err != nil {
			t.Fatal(err)
		}
	}
	before := size()
	insert(1500) // about 1,500 pages: past SQLite's default autocheckpoint
	if got := size(); got != before {
		t.Fatalf("the writer checkpointed by itself: file %d -> %d bytes", before, got)
	}

	cp, err := database.NewCheckpointer(path, 10*time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cp.Run(ctx) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	}()
	// Writes go on while it checkpoints; all of them reach the file.
	for range 50 {
		insert(10)
	}
	deadline := time.Now().Add(10 * time.Second)
	for size() < 2000*4000 {
		if time.Now().After(deadline) {
			t.Fatalf("database file at %d bytes after 10 s, want the 2,000 rows (>= 8 MB) copied from the WAL", size())
		}
		time.Sleep(10 * time.Millisecond)
	}
	var n int
	if err := db.Raw("SELECT COUNT(*) FROM blobs").Scan(&n).Error; err != nil || n != 2000 {
		t.Fatalf("rows = %d (%v), want 2000", n, err)
	}
}

func TestCheckpointerRefusesNoInterval(t *testing.T) {
	if _, err := database.NewCheckpointer(t.TempDir()+"/db.sqlite", 0, nil); err == nil {
		t.Fatal("NewCheckpointer with interval 0: no error")
	}
}
