package services_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/onlinenow/onlinenow/database/dbtest"
	"github.com/onlinenow/onlinenow/models"
	"github.com/onlinenow/onlinenow/services"
)

// chanFixture is a channel with one user per role.
type chanFixture struct {
	ch    models.Channel
	users map[string]models.User // by role name: owner, admin, member, muted, banned, kicked, outsider
}

var roleNames = []string{"owner", "admin", "mutedadmin", "member", "muted", "banned", "kicked", "outsider"}

func newChanFixture(t *testing.T, s svc, cs *services.ChannelService, tag string) chanFixture {
	t.Helper()
	ctx := context.Background()
	f := chanFixture{users: map[string]models.User{}}
	for _, r := range roleNames {
		f.users[r] = s.user(t, r+"_"+tag)
	}
	ch, err := cs.Create(ctx, f.users["owner"].ID, services.CreateChannelInput{Name: "chan_" + tag, Type: models.ChannelPublic})
	if err != nil {
		t.Fatal(err)
	}
	f.ch = ch
	later := time.Now().Add(time.Hour)
	for _, r := range []struct {
		name string
		in   services.UpdateMemberInput
	}{
		{"admin", services.UpdateMemberInput{Role: models.RoleAdmin}},
		{"mutedadmin", services.UpdateMemberInput{Role: models.RoleMutedAdmin, MutedUntil: later}},
		{"member", services.UpdateMemberInput{Role: models.RoleMember}},
		{"muted", services.UpdateMemberInput{Role: models.RoleMutedMember, MutedUntil: later}},
		{"banned", services.UpdateMemberInput{Role: models.RoleBannedMember, BannedUntil: later}},
	} {
		if _, err := cs.AddMember(ctx, ch.ID, f.users[r.name].ID, models.RoleMember); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.UpdateMember(ctx, ch.ID, f.users[r.name].ID, r.in); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cs.AddMember(ctx, ch.ID, f.users["kicked"].ID, models.RoleMember); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.AddKick(ctx, ch.ID, f.users["kicked"].ID); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f chanFixture) role(t *testing.T, db *gorm.DB, name string) models.Role {
	t.Helper()
	var m models.ChannelMember
	err := db.Where("channel_id = ? AND user_id = ?", f.ch.ID, f.users[name].ID).Take(&m).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return m.Role
}

// startRole is each fixture user's role ("" = none).
var startRole = map[string]models.Role{
	"owner": models.RoleOwner, "admin": models.RoleAdmin, "mutedadmin": models.RoleMutedAdmin, "member": models.RoleMember,
	"muted": models.RoleMutedMember, "banned": models.RoleBannedMember, "kicked": "", "outsider": "",
}

// expectModeration states the rules independently of the implementation:
// the error kind (nil: allowed) and the target's role afterwards.
func expectModeration(actor, target string, act services.Action) (error, models.Role) {
	tr := startRole[target]
	switch {
	case actor != "owner" && actor != "admin":
		return services.ErrForbidden, tr // not a member, or no moderation right
	case actor == target:
		return services.ErrInvalid, tr
	case tr == "":
		if act == services.ActDemote && target == "kicked" {
			return nil, "" // re-admission: the kick is lifted
		}
		return services.ErrNotFound, tr
	case tr == models.RoleOwner:
		return services.ErrForbidden, tr
	case (tr == models.RoleAdmin || tr == models.RoleMutedAdmin) && actor != "owner":
		return services.ErrForbidden, tr
	}
	switch act {
	case services.ActPromote:
		if tr != models.RoleMember {
			return services.ErrInvalid, tr
		}
		return nil, models.RoleAdmin
	case services.ActDemote:
		if tr != models.RoleAdmin {
			return services.ErrInvalid, tr
		}
		return nil, models.RoleMember
	case services.ActKick:
		return nil, ""
	case services.ActBan:
		if tr == models.RoleAdmin || tr == models.RoleMutedAdmin {
			return nil, models.RoleBannedAdmin
		}
		return nil, models.RoleBannedMember
	case services.ActMute:
		switch tr {
		case models.RoleBannedMember:
			return services.ErrInvalid, tr
		case models.RoleAdmin, models.RoleMutedAdmin:
			return nil, models.RoleMutedAdmin
		}
		return nil, models.RoleMutedMember
	}
	panic("unknown action")
}

func TestChannelModerationMatrix(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := newSvc(db)
		cs := services.NewChannelService(db, nil)
		ctx := context.Background()
		acts := []services.Action{services.ActPromote, services.ActDemote, services.ActKick, services.ActBan, services.ActMute}
		n := 0
		for _, act := range acts {
			for _, actor := range roleNames {
				for _, target := range roleNames {
					n++
					t.Run(fmt.Sprintf("%s/%s->%s", act, actor, target), func(t *testing.T) {
						f := newChanFixture(t, s, cs, fmt.Sprint(n))
						wantErr, wantRole := expectModeration(actor, target, act)
						_, err := cs.Moderate(ctx, f.users[actor].ID, f.ch.ID, f.users[target].ID, act, time.Now().Add(time.Hour))
						if wantErr == nil && err != nil || wantErr != nil && !errors.Is(err, wantErr) {
							t.Fatalf("err = %v, want %v", err, wantErr)
						}
						if got := f.role(t, db, target); got != wantRole {
							t.Errorf("target role = %q, want %q", got, wantRole)
						}
						if err != nil && target == "kicked" {
							if k, _ := cs.KickRecord(ctx, f.ch.ID, f.users[target].ID); k == nil {
								t.Errorf("a refused action lifted the kick")
							}
						}
						if err == nil && act == services.ActKick {
							if k, _ := cs.KickRecord(ctx, f.ch.ID, f.users[target].ID); k == nil {
								t.Errorf("kick left no record")
							}
						}
					})
				}
			}
		}
	})
}

func TestChannelMemberActionsMatrix(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := newSvc(db)
		cs := services.NewChannelService(db, nil)
		ctx := context.Background()
		type want struct{ join, post, leave, rename, remove error }
		F := services.ErrForbidden
		cases := map[string]want{
			"owner":      {nil, nil, F, nil, nil},
			"admin":      {nil, nil, nil, F, F},
			"mutedadmin": {nil, F, F, F, F},
			"member":     {nil, nil, nil, F, F},
			"muted":      {nil, F, F, F, F},
			"banned":     {F, F, F, F, F},
			"kicked":     {F, F, F, F, F},
			"outsider":   {nil, F, F, F, F},
		}
		n := 0
		for actor, w := range cases {
			n++
			t.Run(actor, func(t *testing.T) {
				f := newChanFixture(t, s, cs, "m"+fmt.Sprint(n))
				id := f.users[actor].ID
				check := func(op string, err, want error) {
					t.Helper()
					if want == nil && err != nil || want != nil && !errors.Is(err, want) {
						t.Errorf("%s: err = %v, want %v", op, err, want)
					}
				}
				_, err := cs.Post(ctx, id, f.ch.ID, "hello")
				check("post", err, w.post)
				msgs, _ := cs.Messages(ctx, f.ch.ID)
				if (w.post == nil) != (len(msgs) == 1) {
					t.Errorf("post stored %d messages", len(msgs))
				}
				res, err := cs.Join(ctx, id, f.ch.ID, "")
				check("join", err, w.join)
				if err == nil && res.New != (actor == "outsider") {
					t.Errorf("join New = %v", res.New)
				}
				_, err = cs.Rename(ctx, id, f.ch.ID, "renamed_"+f.ch.ChannelName)
				check("rename", err, w.rename)
				_, err = cs.Leave(ctx, id, f.ch.ID)
				if actor == "outsider" {
					check("leave", err, nil) // it has just joined
				} else {
					check("leave", err, w.leave)
				}
				_, err = cs.Remove(ctx, id, f.ch.ID)
				check("remove", err, w.remove)
				_, gone := cs.Channel(ctx, f.ch.ID)
				if (w.remove == nil) != errors.Is(gone, services.ErrNotFound) {
					t.Errorf("channel after remove: %v", gone)
				}
			})
		}
	})
}

func TestChannelKickedReadmittedByModerator(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := newSvc(db)
		cs := services.NewChannelService(db, nil)
		ctx := context.Background()
		f := newChanFixture(t, s, cs, "k")
		k := f.users["kicked"].ID
		if _, err := cs.Join(ctx, k, f.ch.ID, ""); err == nil || err.Error() != "You are kicked from this Channel" {
			t.Fatalf("kicked join: %v", err)
		}
		res, err := cs.Moderate(ctx, f.users["admin"].ID, f.ch.ID, k, services.ActDemote, time.Time{})
		if err != nil || !res.Readmitted {
			t.Fatalf("readmit: %+v %v", res, err)
		}
		if r, err := cs.Join(ctx, k, f.ch.ID, ""); err != nil || !r.New {
			t.Fatalf("join after readmission: %+v %v", r, err)
		}
	})
}

func TestChannelPasswords(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := newSvc(db)
		cs := services.NewChannelService(db, nil)
		ctx := context.Background()
		owner, a, b, c := s.user(t, "powner"), s.user(t, "pa"), s.user(t, "pb"), s.user(t, "pc")
		ch, err := cs.Create(ctx, owner.ID, services.CreateChannelInput{Name: "secret", Type: models.ChannelProtected, Password: "hunter2"})
		if err != nil {
			t.Fatal(err)
		}
		if ch.ChannelPassword == nil || !strings.HasPrefix(*ch.ChannelPassword, "$2") {
			t.Fatalf("stored %v, want a bcrypt hash", ch.ChannelPassword)
		}
		if _, err := cs.Create(ctx, owner.ID, services.CreateChannelInput{Name: "nopw", Type: models.ChannelProtected}); !errors.Is(err, services.ErrInvalid) {
			t.Fatalf("PROTECTED without password: %v", err)
		}
		if _, err := cs.Join(ctx, a.ID, ch.ID, "wrong"); !errors.Is(err, services.ErrForbidden) || strings.Contains(err.Error(), "wrong") {
			t.Fatalf("wrong password: %v", err)
		}
		if _, err := cs.Join(ctx, a.ID, ch.ID, ""); !errors.Is(err, services.ErrInvalid) {
			t.Fatalf("empty password: %v", err)
		}
		if m, _ := cs.Member(ctx, ch.ID, a.ID); m != nil {
			t.Fatal("a refused join wrote a membership")
		}
		if r, err := cs.Join(ctx, a.ID, ch.ID, "hunter2"); err != nil || !r.New {
			t.Fatalf("right password: %+v %v", r, err)
		}

		// A migrated channel with the original's unsalted SHA-256 hex.
		legacy := models.Channel{ChannelName: "old", ChannelType: models.ChannelProtected, ChannelOwnerID: owner.ID}
		sum := sha256.Sum256([]byte("letmein"))
		h := hex.EncodeToString(sum[:])
		legacy.ChannelPassword = &h
		if err := db.Create(&legacy).Error; err != nil {
			t.Fatal(err)
		}
		if _, err := cs.Join(ctx, b.ID, legacy.ID, "nope"); !errors.Is(err, services.ErrForbidden) {
			t.Fatalf("wrong legacy password: %v", err)
		}
		if r, err := cs.Join(ctx, b.ID, legacy.ID, "letmein"); err != nil || !r.New {
			t.Fatalf("legacy password: %+v %v", r, err)
		}
		var stored models.Channel
		db.Where("id = ?", legacy.ID).Take(&stored)
		if stored.ChannelPassword == nil || !strings.HasPrefix(*stored.ChannelPassword, "$2") {
			t.Fatalf("after a legacy match the hash is %v, want bcrypt", stored.ChannelPassword)
		}
		// The upgraded hash keeps working, and the old hex no longer does.
		if r, err := cs.Join(ctx, c.ID, legacy.ID, "letmein"); err != nil || !r.New {
			t.Fatalf("after upgrade: %+v %v", r, err)
		}
		if _, err := cs.Join(ctx, owner.ID, legacy.ID, h); err != nil {
			// owner is not a member of the legacy row: joining with the hex itself must fail
			if !errors.Is(err, services.ErrForbidden) {
				t.Fatalf("hex as password: %v", err)
			}
		} else {
			t.Fatal("the stored hex was accepted as a password")
		}
	})
}

func TestChannelListings(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := newSvc(db)
		cs := services.NewChannelService(db, nil)
		ctx := context.Background()
		o, u := s.user(t, "lo"), s.user(t, "lu")
		var ids []string
		for i, typ := range []models.ChannelType{models.ChannelPublic, models.ChannelProtected, models.ChannelPrivate, models.ChannelPublic} {
			ch, err := cs.Create(ctx, o.ID, services.CreateChannelInput{Name: fmt.Sprint("L", i), Type: typ, Password: "pw"})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, ch.ID)
			time.Sleep(5 * time.Millisecond)
		}
		if _, err := cs.Join(ctx, u.ID, ids[3], ""); err != nil {
			t.Fatal(err)
		}
		disc, err := cs.Discoverable(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameList(t, "discoverable", ids2(disc), ids[:2])
		mine, _ := cs.Mine(ctx, u.ID)
		sameList(t, "mine", ids2(mine), ids[3:])
		if mine[0].MemberCount != 2 {
			t.Errorf("count = %d", mine[0].MemberCount)
		}
		ownerDisc, _ := cs.Discoverable(ctx, o.ID)
		if len(ownerDisc) != 0 {
			t.Errorf("owner discovers %d of its own channels", len(ownerDisc))
		}
		// PRIVATE: never listed, but joined by id.
		if r, err := cs.Join(ctx, u.ID, ids[2], ""); err != nil || !r.New {
			t.Fatalf("private by id: %v", err)
		}
		if _, err := cs.Create(ctx, o.ID, services.CreateChannelInput{Name: "L0", Type: models.ChannelPublic}); !errors.Is(err, services.ErrConflict) {
			t.Fatalf("duplicate name: %v", err)
		}
	})
}

func ids2(cs []services.ChannelWithCount) []string {
	return ids(cs, func(c services.ChannelWithCount) string { return c.ID })
}

// notes is a ChannelNotifier that records expiries.
type notes struct {
	mu  sync.Mutex // written by the expiry loop, read by the test
	got []string
	at  []time.Time
}

func (n *notes) SanctionExpired(_ context.Context, channelID, userID string, kind services.Sanction) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.got = append(n.got, string(kind)+":"+userID)
	n.at = append(n.at, time.Now())
}

func (n *notes) list() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.got...)
}

func runChannels(t *testing.T, cs *services.ChannelService) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cs.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestChannelSanctionsExpireAndSurviveRestart(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := newSvc(db)
		ctx := context.Background()
		setup := services.NewChannelService(db, nil)
		o, a, b, c := s.user(t, "eo"), s.user(t, "ea"), s.user(t, "eb"), s.user(t, "ec")
		ch, err := setup.Create(ctx, o.ID, services.CreateChannelInput{Name: "exp", Type: models.ChannelPublic})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range []models.User{a, b, c} {
			if _, err := setup.Join(ctx, u.ID, ch.ID, ""); err != nil {
				t.Fatal(err)
			}
		}
		// Sanctions stored by a "previous process" (setup never runs).
		start := time.Now()
		if _, err := setup.Moderate(ctx, o.ID, ch.ID, a.ID, services.ActBan, start.Add(400*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		if _, err := setup.Moderate(ctx, o.ID, ch.ID, b.ID, services.ActMute, start.Add(600*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		if _, err := setup.Moderate(ctx, o.ID, ch.ID, c.ID, services.ActMute, start.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}

		cs := services.NewChannelService(db, nil)
		n := &notes{}
		cs.SetNotifier(n)
		runChannels(t, cs)
		if _, err := cs.Post(ctx, a.ID, ch.ID, "x"); !errors.Is(err, services.ErrForbidden) {
			t.Fatalf("banned post: %v", err)
		}
		waitFor(t, "two expiries", func() bool { return len(n.list()) == 2 })
		sameList(t, "expired", n.list(), []string{"ban:" + a.ID, "mute:" + b.ID})
		for i, at := range n.at {
			due := start.Add(time.Duration(400+200*i) * time.Millisecond)
			if at.Before(due) || at.After(due.Add(300*time.Millisecond)) {
				t.Errorf("expiry %d at %v, due %v", i, at.Sub(start), due.Sub(start))
			}
		}
		for _, u := range []models.User{a, b} {
			m, _ := cs.Member(ctx, ch.ID, u.ID)
			if m.Role != models.RoleMember || m.UnbanneTime != nil || m.UnmuteTime != nil || m.BannedTime != nil || m.MutedTime != nil {
				t.Errorf("after expiry: %+v", m)
			}
		}
		if _, err := cs.Post(ctx, a.ID, ch.ID, "back"); err != nil {
			t.Errorf("post after the ban: %v", err)
		}
		if m, _ := cs.Member(ctx, ch.ID, c.ID); m.Role != models.RoleMutedMember {
			t.Errorf("the hour-long mute ended: %s", m.Role)
		}
		if p := cs.PendingExpiries(); p != 1 {
			t.Errorf("pending = %d, want 1", p)
		}

		// A re-mute for longer is not lifted by the earlier schedule.
		if _, err := cs.Moderate(ctx, o.ID, ch.ID, b.ID, services.ActMute, time.Now().Add(200*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.Moderate(ctx, o.ID, ch.ID, b.ID, services.ActMute, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
		if m, _ := cs.Member(ctx, ch.ID, b.ID); m.Role != models.RoleMutedMember {
			t.Errorf("the longer mute was lifted early: %s", m.Role)
		}
		if got := len(n.list()); got != 2 {
			t.Errorf("%d expiries announced, want 2", got)
		}
	})
}

func TestChannelBadInputWritesNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := newSvc(db)
		cs := services.NewChannelService(db, nil)
		ctx := context.Background()
		o := s.user(t, "bo")
		f := newChanFixture(t, s, cs, "bad")
		bad := []struct {
			name string
			err  error
		}{}
		_, err := cs.Create(ctx, o.ID, services.CreateChannelInput{Name: " ", Type: models.ChannelPublic})
		bad = append(bad, struct {
			name string
			err  error
		}{"blank name", err})
		_, err = cs.Create(ctx, o.ID, services.CreateChannelInput{Name: "x", Type: "SECRET"})
		bad = append(bad, struct {
			name string
			err  error
		}{"bad type", err})
		_, err = cs.Create(ctx, o.ID, services.CreateChannelInput{Name: strings.Repeat("n", 65), Type: models.ChannelPublic})
		bad = append(bad, struct {
			name string
			err  error
		}{"long name", err})
		_, err = cs.Post(ctx, f.users["member"].ID, f.ch.ID, "  ")
		bad = append(bad, struct {
			name string
			err  error
		}{"blank message", err})
		_, err = cs.Moderate(ctx, f.users["owner"].ID, f.ch.ID, f.users["member"].ID, services.ActBan, time.Time{})
		bad = append(bad, struct {
			name string
			err  error
		}{"ban without time", err})
		_, err = cs.Moderate(ctx, f.users["owner"].ID, f.ch.ID, f.users["member"].ID, services.ActMute, time.Now().Add(-time.Minute))
		bad = append(bad, struct {
			name string
			err  error
		}{"mute in the past", err})
		_, err = cs.Moderate(ctx, f.users["owner"].ID, "nope", f.users["member"].ID, services.ActKick, time.Time{})
		bad = append(bad, struct {
			name string
			err  error
		}{"bad channel id", err})
		_, err = cs.Rename(ctx, f.users["owner"].ID, f.ch.ID, "")
		bad = append(bad, struct {
			name string
			err  error
		}{"empty rename", err})
		for _, b := range bad {
			if !errors.Is(b.err, services.ErrInvalid) {
				t.Errorf("%s: err = %v, want invalid", b.name, b.err)
			}
		}
		var chans, msgs int64
		db.Model(&models.Channel{}).Count(&chans)
		db.Model(&models.ChannelMessage{}).Count(&msgs)
		if chans != 1 || msgs != 0 {
			t.Errorf("channels=%d messages=%d after bad input", chans, msgs)
		}
		if got := f.role(t, db, "member"); got != models.RoleMember {
			t.Errorf("member role %s", got)
		}
	})
}
