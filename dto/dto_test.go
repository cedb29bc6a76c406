package dto_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/onlinenow/onlinenow/dto"
	"github.com/onlinenow/onlinenow/models"
	"github.com/onlinenow/onlinenow/services"
)

func TestTimeJSON(t *testing.T) {
	paris := time.FixedZone("CEST", 2*3600)
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2023, 8, 25, 10, 0, 0, 0, time.UTC), `"2023-08-25T10:00:00.000Z"`},
		{time.Date(2023, 8, 25, 12, 0, 0, 999999999, paris), `"2023-08-25T10:00:00.999Z"`},
		{time.Date(2024, 2, 29, 23, 59, 59, 1000000, time.UTC), `"2024-02-29T23:59:59.001Z"`},
	}
	for _, tc := range tests {
		got, err := json.Marshal(dto.NewTime(tc.in))
		if err != nil || string(got) != tc.want {
			t.Errorf("Marshal(%v) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
		var back dto.Time
		if err := json.Unmarshal(got, &back); err != nil || !back.Time().Equal(tc.in.Truncate(time.Millisecond)) {
			t.Errorf("round trip of %s = %v, %v", got, back.Time(), err)
		}
	}
	var nilTime *time.Time
	if got, _ := json.Marshal(struct {
		T *dto.Time `json:"t"`
	}{dto.TimePtr(nilTime)}); string(got) != `{"t":null}` {
		t.Errorf("nil time = %s", got)
	}
}

func TestFromUserNeverSendsSecret(t *testing.T) {
	secret := "JBSWY3DPEHPK3PXP"
	u := models.User{Base: models.Base{ID: "id"}, Email: "a@b.c", TwoFactorAuthSecret: &secret, Status: models.StatusOnline}
	raw, _ := json.Marshal(dto.FromUser(u))
	if strings.Contains(string(raw), secret) || strings.Contains(string(raw), "twoFactorAuthSecret") {
		t.Errorf("secret in %s", raw)
	}
	want := `{"id":"id","name":null,"email":"a@b.c","intraId":"","Avatar":null,"status":"ONLINE","isAuth":false,"isTwoFactorEnabled":false,"created_at":"0001-01-01T00:00:00.000Z","updated_at":"0001-01-01T00:00:00.000Z","lastSeenAt":null}`
	if string(raw) != want {
		t.Errorf("user = %s\nwant   %s", raw, want)
	}
}

func TestFromUserStatRate(t *testing.T) {
	for _, rate := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		raw, err := json.Marshal(dto.FromUserStat(models.UserStat{Rate: rate}))
		if err != nil || !strings.Contains(string(raw), `"rate":0,`) {
			t.Errorf("rate %v = %s, %v", rate, raw, err)
		}
	}
}

func TestEmptyListsAreArrays(t *testing.T) {
	for name, v := range map[string]any{
		"users": dto.FromUsers(nil), "friends": dto.FromFriends(nil), "messages": dto.FromDirectMessages(nil),
		"contacts": dto.FromContacts(nil), "summary": dto.FromUnreadSummaries(nil), "games": dto.FromGames(nil),
		"achievement list": dto.FromAchievement(models.Achievement{}).Achievement,
	} {
		if raw, _ := json.Marshal(v); string(raw) != "[]" {
			t.Errorf("%s = %s, want []", name, raw)
		}
	}
}

func problems(err error) string {
	var ve *services.ValidationError
	if errors.As(err, &ve) {
		return strings.Join(ve.Problems, "|")
	}
	if err != nil {
		return "ERR:" + err.Error()
	}
	return ""
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		run  func() error
		want string
	}{
		{"null counts as absent", func() error { _, err := dto.DecodeSeen([]byte(`{"seen":null}`)); return err }, "seen must be a boolean value"},
		{"unknown fields stripped", func() error { _, err := dto.DecodeSeen([]byte(`{"seen":false,"x":{"y":[1]}}`)); return err }, ""},
		{"quoted number", func() error {
			_, _, err := dto.DecodeStat([]byte(`{"winsNumbr":"1","lossesNumbr":0,"rate":0}`), false)
			return err
		},
			"winsNumbr must be a number conforming to the specified constraints"},
		{"too big for Int", func() error {
			_, _, err := dto.DecodeStat([]byte(`{"winsNumbr":3000000000,"lossesNumbr":0,"rate":0}`), false)
			return err
		},
			"winsNumbr must not be greater than 2147483647"},
		{"email with display name", func() error {
			_, err := dto.DecodeCreateUser([]byte(`{"email":"A <a@b.co>","intraId":"1"}`))
			return err
		}, "email must be an email"},
		{"email without dotted domain", func() error { _, err := dto.DecodeCreateUser([]byte(`{"email":"a@b","intraId":"1"}`)); return err }, "email must be an email"},
		{"avatar javascript URL", func() error {
			_, err := dto.DecodeCreateUser([]byte(`{"email":"a@b.co","intraId":"1","Avatar":"javascript:alert(1)"}`))
			return err
		}, "Avatar must be a URL address"},
		{"blank intraId", func() error { _, err := dto.DecodeCreateUser([]byte(`{"email":"a@b.co","intraId":"  "}`)); return err }, "intraId should not be empty"},
		{"valid user", func() error {
			in, err := dto.DecodeCreateUser([]byte(`{"email":"a@b.co","intraId":"1","name":"Zoé","Avatar":"https://x.y/z.png","status":"INAGAME"}`))
			if err == nil && (in.Name == nil || *in.Name != "Zoé" || in.Avatar == nil) {
				return errors.New("fields lost")
			}
			return err
		}, ""},
		{"achievement string", func() error {
			_, items, err := dto.DecodeAchievement([]byte(`{"achievement":"x","userId":"00000000-0000-4000-8000-000000000000"}`))
			if err == nil && (len(items) != 1 || items[0] != "x") {
				return errors.New("items lost")
			}
			return err
		}, ""},
		{"top-level null", func() error { _, err := dto.DecodeSeen([]byte(`null`)); return err }, "ERR:request body must be a JSON object"},
		{"trailing garbage", func() error { _, err := dto.DecodeSeen([]byte(`{"seen":true} x`)); return err }, "ERR:request body is not valid JSON"},
		{"room id", func() error { return dto.ValidateRoomID(strings.Repeat("a", 64)) }, ""},
		{"room id too short", func() error { return dto.ValidateRoomID(strings.Repeat("a", 63)) }, "hashedRoomId must be a 64-character lower-case hex string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := problems(tc.run()); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
