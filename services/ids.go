package services

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/google/uuid"
)

// RoomID is the direct-message room of two users: the lower-case hex SHA-256
// of the two ids sorted ascending (byte order) and joined with "-".
func RoomID(a, b string) string {
	if b < a {
		a, b = b, a
	}
	sum := sha256.Sum256([]byte(a + "-" + b))
	return hex.EncodeToString(sum[:])
}

// ValidID reports whether s is a UUID in its canonical textual form.
func ValidID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}
