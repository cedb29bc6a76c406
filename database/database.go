// Package database opens the configured database (PostgreSQL or the embedded
// SQLite file) and migrates the schema.
package database

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/onlinenow/onlinenow/models"
)

// Open connects to postgresURL when it is set, else to the SQLite file at
// sqlitePath (its directory is created), and migrates every model.
func Open(ctx context.Context, postgresURL, sqlitePath string, maxConns int, log *slog.Logger) (*gorm.DB, error) {
	gcfg := GormConfig()
	var (
		db  *gorm.DB
		err error
	)
	if postgresURL != "" {
		db, err = OpenPostgres(postgresURL, maxConns, gcfg)
		if err != nil {
			return nil, err
		}
	} else {
		if dir := filepath.Dir(sqlitePath); dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, fmt.Errorf("create sqlite dir: %w", err)
			}
		}
		db, err = OpenSQLite(sqlitePath, gcfg)
		if err != nil {
			return nil, err
		}
	}
	if err := Migrate(ctx, db); err != nil {
		Close(db)
		return nil, err
	}
	if log != nil {
		log.Info("database ready", "driver", db.Dialector.Name())
	}
	return db, nil
}

// OpenPostgres opens a PostgreSQL database with a pool of at most
// maxConns connections: a burst of events queues for a connection instead
// of opening one per event until the server refuses ("too many clients").
func OpenPostgres(url string, maxConns int, gcfg *gorm.Config) (*gorm.DB, error) {
	db, err := gorm.Open(postgres.Open(url), gcfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	sqlDB.SetMaxOpenConns(maxConns)
	sqlDB.SetMaxIdleConns(maxConns)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	return db, nil
}

// GormConfig is the GORM configuration of the server and its tests:
// timestamps in UTC with millisecond precision (what JSON shows), driver
// errors translated (gorm.ErrDuplicatedKey), and prepared statements cached
// per connection, so hot queries are not parsed again on every call.
func GormConfig() *gorm.Config {
	return &gorm.Config{
		Logger:         logger.Discard,
		NowFunc:        func() time.Time { return time.Now().UTC().Truncate(time.Millisecond) },
		TranslateError: true,
		PrepareStmt:    true,
		// GORM's statement cache starts a sweeper goroutine that nothing
		// stops unless the TTL is its "no eviction" value (10 years); the
		// server runs a fixed set of statements, bounded by the cache size.
		PrepareStmtTTL: 10 * 365 * 24 * time.Hour,
	}
}

// OpenSQLite opens a SQLite database file with foreign keys, WAL and a busy
// timeout; path ":memory:" is not supported (each connection would differ).
// Its connection checkpoints the WAL by itself only past walFallbackPages:
// the server runs a Checkpointer beside it.
func OpenSQLite(path string, gcfg *gorm.Config) (*gorm.DB, error) {
	dsn := path + "?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)" +
		fmt.Sprintf("&_pragma=wal_autocheckpoint(%d)", walFallbackPages)
	db, err := gorm.Open(sqlite.Open(dsn), gcfg)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	// SQLite allows one writer; one connection avoids "database is locked".
	sqlDB.SetMaxOpenConns(1)
	return db, nil
}

// Migrate creates or updates the tables of every model.
func Migrate(ctx context.Context, db *gorm.DB) error {
	if err := db.WithContext(ctx).AutoMigrate(models.All()...); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// At most one placeholder (the empty message joinRoom creates) per room,
	// even when several tabs join at once. Real messages are never empty.
	if err := db.WithContext(ctx).Exec(
		`CREATE UNIQUE INDEX IF NOT EXISTS idx_dm_placeholder ON direct_messages (room_id) WHERE content = ''`,
	).Error; err != nil {
		return fmt.Errorf("migrate placeholder index: %w", err)
	}
	if db.Dialector.Name() == "sqlite" {
		// SQLite has no data-modifying CTE: a notification's insert takes
		// its seq from the counter and this trigger moves the counter, so
		// one statement records a notification (services.Notifications).
		if err := db.WithContext(ctx).Exec(`CREATE TRIGGER IF NOT EXISTS notifications_bump_counter
			AFTER INSERT ON notifications
			BEGIN
				INSERT INTO notification_counters (user_id, last_seq) VALUES (NEW.user_id, NEW.seq)
				ON CONFLICT (user_id) DO UPDATE SET last_seq = excluded.last_seq;
			END`).Error; err != nil {
			return fmt.Errorf("migrate notification counter trigger: %w", err)
		}
	}
	return nil
}

// Close closes the underlying connection pool.
func Close(db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}
