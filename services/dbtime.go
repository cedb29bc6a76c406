package services

import (
	"database/sql/driver"
	"fmt"
	"time"
)

// dbTime scans a timestamp from a raw query. PostgreSQL returns a
// time.Time; SQLite may return the stored text when the column's declared
// type is lost (e.g. through a subquery).
type dbTime struct {
	time.Time
}

// sqliteLayouts are the text forms the SQLite driver writes and reads.
var sqliteLayouts = []string{
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02T15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05",
	time.RFC3339Nano,
}

// Scan implements sql.Scanner.
func (t *dbTime) Scan(v any) error {
	switch x := v.(type) {
	case time.Time:
		t.Time = x
		return nil
	case string:
		return t.parse(x)
	case []byte:
		return t.parse(string(x))
	case nil:
		t.Time = time.Time{}
		return nil
	}
	return fmt.Errorf("scan time: unsupported %T", v)
}

func (t *dbTime) parse(s string) error {
	for _, layout := range sqliteLayouts {
		if p, err := time.Parse(layout, s); err == nil {
			t.Time = p
			return nil
		}
	}
	return fmt.Errorf("scan time: unrecognised %q", s)
}

// Value implements driver.Valuer.
func (t dbTime) Value() (driver.Value, error) { return t.Time, nil }
