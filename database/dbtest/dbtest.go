// Package dbtest gives tests a fresh, migrated database: SQLite in a temp
// directory and the real PostgreSQL in a schema of its own.
package dbtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"

	"github.com/onlinenow/onlinenow/database"
)

// DefaultPostgresURL is used when TEST_DATABASE_URL is unset.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

func gormConfig() *gorm.Config { return database.GormConfig() }

// SQLite returns a migrated SQLite database in t's temp directory.
func SQLite(t testing.TB) *gorm.DB {
	t.Helper()
	db, err := database.OpenSQLite(t.TempDir()+"/test.db", gormConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := database.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { database.Close(db) })
	return db
}

// PostgresURL returns the URL of the test PostgreSQL server.
func PostgresURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

// Postgres returns a migrated PostgreSQL database living in a new schema that
// is dropped when t ends. If the server is unreachable the test is skipped,
// except under CI=true, where it fails.
func Postgres(t testing.TB) *gorm.DB {
	t.Helper()
	base := PostgresURL()
	admin, err := gorm.Open(postgres.Open(base), gormConfig())
	if err == nil {
		var sqlErr error
		if sqlDB, e := admin.DB(); e == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			sqlErr = sqlDB.PingContext(ctx)
			cancel()
		}
		err = sqlErr
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("postgres at %s is required under CI: %v", base, err)
		}
		t.Skipf("postgres unavailable: %v", err)
	}
	schema := "t_" + strings.ReplaceAll(uuid.NewString(), "-", "")
	if err := admin.Exec(fmt.Sprintf(`CREATE SCHEMA %q`, schema)).Error; err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := gorm.Open(postgres.Open(u.String()), gormConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := database.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		database.Close(db)
		admin.Exec(fmt.Sprintf(`DROP SCHEMA %q CASCADE`, schema))
		database.Close(admin)
	})
	return db
}

// Each runs fn as a subtest against SQLite and against PostgreSQL.
func Each(t *testing.T, fn func(t *testing.T, db *gorm.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}
