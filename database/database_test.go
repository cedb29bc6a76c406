package database_test

import (
	"context"
	"sync"
	"testing"

	"github.com/onlinenow/onlinenow/database"
	"github.com/onlinenow/onlinenow/database/dbtest"
)

// TestPostgresPoolIsBounded: 40 concurrent queries on a pool of 3 never
// hold more than 3 connections; the others wait their turn.
func TestPostgresPoolIsBounded(t *testing.T) {
	dbtest.Postgres(t) // skips (or fails under CI=true) without a server
	db, err := database.OpenPostgres(dbtest.PostgresURL(), 3, database.GormConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer database.Close(db)
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			if err := db.WithContext(context.Background()).Exec("SELECT pg_sleep(0.02)").Error; err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	st := sqlDB.Stats()
	if st.MaxOpenConnections != 3 || st.OpenConnections > 3 || st.WaitCount == 0 {
		t.Fatalf("pool stats %+v: want at most 3 open and some waits", st)
	}
}
