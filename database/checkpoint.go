package database

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	// The driver behind glebarez/sqlite, registered as "sqlite".
	_ "github.com/glebarez/go-sqlite"
)

// walFallbackPages is the WAL size (in 4 KiB pages, about 40 MiB) at which
// the server's own connection checkpoints by itself, in the middle of a
// request. The Checkpointer keeps the WAL far below it; it is only the
// bound for when no Checkpointer runs (tests, tools) or it falls behind.
// SQLite's default of 1,000 pages made the connection that serves every
// request stop, every few hundred messages, to copy pages into the
// database file and wait for fsync.
const walFallbackPages = 10000

// Checkpointer copies the WAL of a SQLite database into the database file
// from a connection of its own, every interval, so the connection that
// serves requests never waits for a checkpoint's writes and fsyncs. A
// PASSIVE checkpoint takes no lock the writer needs: writes go on
// meanwhile, and the next write after a complete checkpoint starts the WAL
// over. Pages written many times between two checkpoints are copied once.
type Checkpointer struct {
	db    *sql.DB
	every time.Duration
	log   *slog.Logger
}

// NewCheckpointer opens its own connection to the SQLite file at path
// (which OpenSQLite has opened and migrated).
func NewCheckpointer(path string, every time.Duration, log *slog.Logger) (*Checkpointer, error) {
	if every <= 0 {
		return nil, fmt.Errorf("checkpoint interval must be positive, got %v", every)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, fmt.Errorf("open sqlite checkpointer %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite checkpointer %s: %w", path, err)
	}
	return &Checkpointer{db: db, every: every, log: log}, nil
}

// Run checkpoints every interval until ctx is done, then closes the
// connection. A failed checkpoint is tried again at the next tick (the
// server's connection still checkpoints by itself at walFallbackPages);
// the first failure of a run of them is logged, and the recovery.
func (c *Checkpointer) Run(ctx context.Context) error {
	defer c.db.Close()
	t := time.NewTicker(c.every)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			err := c.Checkpoint(ctx)
			switch {
			case ctx.Err() != nil:
			case err != nil && !failing:
				c.log.Error("sqlite checkpoint failed: retrying at every tick", "err", err)
			case err == nil && failing:
				c.log.Info("sqlite checkpoint works again")
			}
			failing = err != nil
		}
	}
}

// Checkpoint runs one PASSIVE checkpoint: it copies into the database file
// what of the WAL no reader still needs, without waiting for anyone.
func (c *Checkpointer) Checkpoint(ctx context.Context) error {
	var busy, walPages, copied int
	if err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &walPages, &copied); err != nil {
		return fmt.Errorf("wal_checkpoint: %w", err)
	}
	return nil
}
