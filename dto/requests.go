package dto

import (
	"encoding/json"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/onlinenow/onlinenow/models"
	"github.com/onlinenow/onlinenow/services"
)

// MaxAchievementLen bounds one achievement string; MaxAchievements the
// number of items in one request.
const (
	MaxAchievementLen = 2048
	MaxAchievements   = 100
)

// statusProblem is class-validator's IsEnum message for Status.
const statusProblem = "status must be one of the following values: ONLINE, OFFLINE, INAGAME"

// DecodeCreateUser reads POST /users {email, intraId, name?, Avatar?, status?}.
// status is checked but ignored: presence owns it and new users are OFFLINE.
func DecodeCreateUser(body []byte) (services.CreateUserInput, error) {
	f, err := parseObject(body)
	if err != nil {
		return services.CreateUserInput{}, err
	}
	var in services.CreateUserInput
	if s, ok := f.optString("name"); ok {
		if n := utf8.RuneCountInString(s); n < 1 || n > 64 || strings.TrimSpace(s) == "" {
			f.fail("name must be between 1 and 64 characters")
		}
		in.Name = &s
	}
	in.Email, _ = f.check("email", "email must be an email", isEmail)
	in.IntraID = f.nonEmptyString("intraId", 64)
	if _, present := f.get("Avatar"); present {
		if s, ok := f.check("Avatar", "Avatar must be a URL address", isHTTPURL); ok {
			in.Avatar = &s
		}
	}
	if _, present := f.get("status"); present {
		f.check("status", statusProblem, validStatus)
	}
	return in, f.err()
}

func validStatus(s string) bool { return models.Status(s).Valid() }

// DecodeStatus reads {status: ONLINE|OFFLINE|INAGAME}.
func DecodeStatus(body []byte) (models.Status, error) {
	f, err := parseObject(body)
	if err != nil {
		return "", err
	}
	s, _ := f.check("status", statusProblem, validStatus)
	return models.Status(s), f.err()
}

// DecodeStat reads {winsNumbr, lossesNumbr, rate} and, when withUser is
// set, userId.
func DecodeStat(body []byte, withUser bool) (userID string, in services.StatInput, err error) {
	f, err := parseObject(body)
	if err != nil {
		return "", in, err
	}
	in.WinsNumbr = f.count("winsNumbr")
	in.LossesNumbr = f.count("lossesNumbr")
	in.Rate, _ = f.number("rate")
	if withUser {
		userID = f.uuid("userId")
	}
	return userID, in, f.err()
}

// DecodeAchievement reads {achievement: string | string[], userId}.
func DecodeAchievement(body []byte) (userID string, items []string, err error) {
	f, err := parseObject(body)
	if err != nil {
		return "", nil, err
	}
	const problem = "achievement must be a non-empty string or an array of non-empty strings"
	if r, ok := f.get("achievement"); ok {
		var one string
		if json.Unmarshal(r, &one) == nil {
			items = []string{one}
		} else if json.Unmarshal(r, &items) != nil {
			items = nil
		}
	}
	valid := len(items) > 0 && len(items) <= MaxAchievements
	for _, it := range items {
		if strings.TrimSpace(it) == "" || utf8.RuneCountInString(it) > MaxAchievementLen {
			valid = false
		}
	}
	if !valid {
		f.fail(problem)
		items = nil
	}
	userID = f.uuid("userId")
	return userID, items, f.err()
}

// DecodeBlock reads {userId, blockedUserId}.
func DecodeBlock(body []byte) (userID, blockedID string, err error) {
	f, err := parseObject(body)
	if err != nil {
		return "", "", err
	}
	userID = f.uuid("userId")
	blockedID = f.uuid("blockedUserId")
	return userID, blockedID, f.err()
}

// DecodeFriendRequest reads {friendShipStatus: "PENDING", userId, friendId}.
// Only PENDING is accepted: a request is accepted by its addressee through
// PUT /users/:userId/friend/:friendId.
func DecodeFriendRequest(body []byte) (userID, friendID string, err error) {
	f, err := parseObject(body)
	if err != nil {
		return "", "", err
	}
	f.check("friendShipStatus", "friendShipStatus must be PENDING (a request is accepted by its addressee)",
		func(s string) bool { return s == string(models.FriendPending) })
	userID = f.uuid("userId")
	friendID = f.uuid("friendId")
	return userID, friendID, f.err()
}

// DecodeTwoFactor reads {isTwoFactorEnabled: boolean}.
func DecodeTwoFactor(body []byte) (bool, error) {
	f, err := parseObject(body)
	if err != nil {
		return false, err
	}
	on := f.boolean("isTwoFactorEnabled")
	return on, f.err()
}

// DecodeUserName reads {userName}: 1-32 letters, digits, '_', '-' or '.'.
func DecodeUserName(body []byte) (string, error) {
	f, err := parseObject(body)
	if err != nil {
		return "", err
	}
	s, _ := f.check("userName", "userName must be 1-32 letters, digits, '_', '-' or '.'", services.ValidUserName)
	return s, f.err()
}

// DecodeSend reads POST /chat {content, senderId, recieverId}.
func DecodeSend(body []byte) (services.SendInput, error) {
	f, err := parseObject(body)
	if err != nil {
		return services.SendInput{}, err
	}
	in := services.SendInput{Content: f.nonEmptyString("content", services.MaxMessageLen)}
	in.SenderID = f.uuid("senderId")
	in.RecieverID = f.uuid("recieverId")
	return in, f.err()
}

// DecodeSeen reads PUT /chat/:reader/:other {seen: boolean}.
func DecodeSeen(body []byte) (bool, error) {
	f, err := parseObject(body)
	if err != nil {
		return false, err
	}
	seen := f.boolean("seen")
	return seen, f.err()
}

// roomIDPattern is a room id: 64 lower-case hex digits.
var roomIDPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ValidateRoomID checks the hashedRoomId query parameter.
func ValidateRoomID(s string) error {
	if !roomIDPattern.MatchString(s) {
		return services.Invalid("hashedRoomId must be a 64-character lower-case hex string")
	}
	return nil
}
