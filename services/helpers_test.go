package services_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/onlinenow/onlinenow/models"
	"github.com/onlinenow/onlinenow/services"
)

// svc bundles the services under test over one database.
type svc struct {
	db     *gorm.DB
	users  *services.UserService
	social *services.SocialService
	chat   *services.ChatService
}

func newSvc(db *gorm.DB) svc {
	social := services.NewSocialService(db)
	return svc{db: db, users: services.NewUserService(db), social: social, chat: services.NewChatService(db, social)}
}

// user creates a user named name.
func (s svc) user(t *testing.T, name string) models.User {
	t.Helper()
	u, err := s.users.Create(context.Background(), services.CreateUserInput{
		Name: &name, Email: name + "@example.com", IntraID: "intra-" + name,
	})
	if err != nil {
		t.Fatalf("create user %s: %v", name, err)
	}
	return u
}

// msg stores a message from -> to at base+offset, bypassing Send so tests
// control the time.
func (s svc) msg(t *testing.T, from, to models.User, content string, at time.Time, seen bool) models.DirectMessage {
	t.Helper()
	m := models.DirectMessage{
		Content: content, SenderID: from.ID, RecieverID: to.ID,
		RoomID: services.RoomID(from.ID, to.ID), Seen: seen, CreatedAt: at.UTC(),
	}
	if err := s.db.Create(&m).Error; err != nil {
		t.Fatalf("store message: %v", err)
	}
	if seen {
		// The column default is false; make sure seen=true sticks.
		if err := s.db.Model(&m).Update("seen", true).Error; err != nil {
			t.Fatal(err)
		}
	}
	return m
}

var base = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func at(sec int) time.Time { return base.Add(time.Duration(sec) * time.Second) }

func unknownID() string { return uuid.NewString() }

func ids[T any](xs []T, f func(T) string) []string {
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		out = append(out, f(x))
	}
	return out
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func sameList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}
