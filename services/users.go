package services

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/onlinenow/onlinenow/models"
)

// UserService owns user accounts, stats and achievements.
type UserService struct {
	db *gorm.DB
}

// NewUserService returns a UserService over db.
func NewUserService(db *gorm.DB) *UserService { return &UserService{db: db} }

// User returns the user with id, or ErrNotFound.
func (s *UserService) User(ctx context.Context, id string) (models.User, error) {
	var u models.User
	if !ValidID(id) {
		return u, Public(ErrNotFound, "user not found")
	}
	err := s.db.WithContext(ctx).Where("id = ?", id).First(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return u, Public(ErrNotFound, "user not found")
	}
	if err != nil {
		return u, fmt.Errorf("user: %w", err)
	}
	return u, nil
}

// CreateUserInput is a new account. Presence owns the status: new users
// start OFFLINE whatever the caller asks.
type CreateUserInput struct {
	Name    *string
	Email   string
	IntraID string
	Avatar  *string
}

// Create stores a new user. A taken email, intraId or name is ErrConflict.
func (s *UserService) Create(ctx context.Context, in CreateUserInput) (models.User, error) {
	var problems []string
	if strings.TrimSpace(in.Email) == "" {
		problems = append(problems, "email must be an email")
	}
	if strings.TrimSpace(in.IntraID) == "" {
		problems = append(problems, "intraId should not be empty")
	}
	if len(problems) > 0 {
		return models.User{}, Invalid(problems...)
	}
	u := models.User{
		Name: in.Name, Email: in.Email, IntraID: in.IntraID, Avatar: in.Avatar,
		Status: models.StatusOffline, IsAuth: true,
	}
	err := s.db.WithContext(ctx).Create(&u).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return models.User{}, Public(ErrConflict, "a user with this email, intraId or name already exists")
	}
	if err != nil {
		return models.User{}, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// Users returns every user, oldest first.
func (s *UserService) Users(ctx context.Context) ([]models.User, error) {
	var out []models.User
	if err := s.db.WithContext(ctx).Order("created_at ASC").Order("id ASC").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	return out, nil
}

// Delete deletes the user with id; rows that reference it cascade.
func (s *UserService) Delete(ctx context.Context, id string) error {
	if !ValidID(id) {
		return Public(ErrNotFound, "user not found")
	}
	res := s.db.WithContext(ctx).Where("id = ?", id).Delete(&models.User{})
	if res.Error != nil {
		return fmt.Errorf("delete user: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return Public(ErrNotFound, "user not found")
	}
	return nil
}

// updateUser sets columns of the user with id, or fails with ErrNotFound.
func (s *UserService) updateUser(ctx context.Context, op, id string, values map[string]any) error {
	if !ValidID(id) {
		return Public(ErrNotFound, "user not found")
	}
	res := s.db.WithContext(ctx).Model(&models.User{}).Where("id = ?", id).Updates(values)
	if errors.Is(res.Error, gorm.ErrDuplicatedKey) {
		return Public(ErrConflict, "this name is already taken")
	}
	if res.Error != nil {
		return fmt.Errorf("%s: %w", op, res.Error)
	}
	if res.RowsAffected == 0 {
		return Public(ErrNotFound, "user not found")
	}
	return nil
}

// SetTwoFactor turns the user's two-factor flag on or off.
func (s *UserService) SetTwoFactor(ctx context.Context, id string, enabled bool) error {
	return s.updateUser(ctx, "set two-factor", id, map[string]any{"is_two_factor_enabled": enabled})
}

// userNamePattern is what a chosen user name may contain.
var userNamePattern = regexp.MustCompile(`^[\p{L}\p{N}_.-]{1,32}$`)

// ValidUserName reports whether name is 1-32 letters, digits, '_', '-' or '.'.
func ValidUserName(name string) bool { return userNamePattern.MatchString(name) }

// Rename sets the user's name; a name taken by another user is ErrConflict.
func (s *UserService) Rename(ctx context.Context, id, name string) error {
	if !ValidUserName(name) {
		return Invalid("userName must be 1-32 letters, digits, '_', '-' or '.'")
	}
	return s.updateUser(ctx, "rename", id, map[string]any{"name": name})
}

// Avatar returns the user's avatar URL (nil when unset), or ErrNotFound.
func (s *UserService) Avatar(ctx context.Context, id string) (*string, error) {
	u, err := s.User(ctx, id)
	if err != nil {
		return nil, err
	}
	return u.Avatar, nil
}

// StatInput is a win/loss record.
type StatInput struct {
	WinsNumbr   int
	LossesNumbr int
	Rate        float64
}

// Validate checks the counts are non-negative and the rate finite.
func (in StatInput) Validate() error {
	var problems []string
	if in.WinsNumbr < 0 {
		problems = append(problems, "winsNumbr must not be less than 0")
	}
	if in.LossesNumbr < 0 {
		problems = append(problems, "lossesNumbr must not be less than 0")
	}
	if math.IsNaN(in.Rate) || math.IsInf(in.Rate, 0) {
		problems = append(problems, "rate must be a number conforming to the specified constraints")
	}
	if len(problems) > 0 {
		return Invalid(problems...)
	}
	return nil
}

// Stat returns the user's record, or ErrNotFound when it has none.
func (s *UserService) Stat(ctx context.Context, userID string) (models.UserStat, error) {
	var st models.UserStat
	err := s.db.WithContext(ctx).Where("user_id = ?", userID).Take(&st).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return st, Public(ErrNotFound, "user stats not found")
	}
	if err != nil {
		return st, fmt.Errorf("stat: %w", err)
	}
	return st, nil
}

// CreateStat stores the user's record; a second one is ErrConflict.
func (s *UserService) CreateStat(ctx context.Context, userID string, in StatInput) (models.UserStat, error) {
	if err := in.Validate(); err != nil {
		return models.UserStat{}, err
	}
	if _, err := s.User(ctx, userID); err != nil {
		return models.UserStat{}, err
	}
	st := models.UserStat{WinsNumbr: in.WinsNumbr, LossesNumbr: in.LossesNumbr, Rate: in.Rate, UserID: userID}
	err := s.db.WithContext(ctx).Create(&st).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return models.UserStat{}, Public(ErrConflict, "this user already has stats")
	}
	if errors.Is(err, gorm.ErrForeignKeyViolated) {
		return models.UserStat{}, Public(ErrNotFound, "user not found")
	}
	if err != nil {
		return models.UserStat{}, fmt.Errorf("create stat: %w", err)
	}
	return st, nil
}

// UpdateStat replaces the user's record, or fails with ErrNotFound.
func (s *UserService) UpdateStat(ctx context.Context, userID string, in StatInput) (models.UserStat, error) {
	if err := in.Validate(); err != nil {
		return models.UserStat{}, err
	}
	res := s.db.WithContext(ctx).Model(&models.UserStat{}).Where("user_id = ?", userID).
		Updates(map[string]any{"wins_numbr": in.WinsNumbr, "losses_numbr": in.LossesNumbr, "rate": in.Rate})
	if res.Error != nil {
		return models.UserStat{}, fmt.Errorf("update stat: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return models.UserStat{}, Public(ErrNotFound, "user stats not found")
	}
	return s.Stat(ctx, userID)
}

// DeleteStat deletes the user's record, or fails with ErrNotFound.
func (s *UserService) DeleteStat(ctx context.Context, userID string) error {
	res := s.db.WithContext(ctx).Where("user_id = ?", userID).Delete(&models.UserStat{})
	if res.Error != nil {
		return fmt.Errorf("delete stat: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return Public(ErrNotFound, "user stats not found")
	}
	return nil
}

// Games returns the games userID played, newest first.
func (s *UserService) Games(ctx context.Context, userID string) ([]models.GamesHistories, error) {
	var out []models.GamesHistories
	err := s.db.WithContext(ctx).Where("player_a_id = ? OR player_b_id = ?", userID, userID).
		Order("created_at DESC").Order("id DESC").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("games: %w", err)
	}
	return out, nil
}

// Achievements returns the user's achievement row, as a list of zero or one.
func (s *UserService) Achievements(ctx context.Context, userID string) ([]models.Achievement, error) {
	var out []models.Achievement
	if err := s.db.WithContext(ctx).Where("user_id = ?", userID).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("achievements: %w", err)
	}
	return out, nil
}

// AddAchievements appends items to the user's single achievement row,
// creating it if needed. Items the user already has are not repeated.
func (s *UserService) AddAchievements(ctx context.Context, userID string, items []string) (models.Achievement, error) {
	if len(items) == 0 {
		return models.Achievement{}, Invalid("achievement should not be empty")
	}
	if _, err := s.User(ctx, userID); err != nil {
		return models.Achievement{}, err
	}
	var a models.Achievement
	add := func() error {
		return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			// FOR UPDATE serialises appends on PostgreSQL; the SQLite
			// dialect drops it (one connection serialises writers there).
			err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("user_id = ?", userID).Take(&a).Error
			if errors.Is(err, gorm.ErrRecordNotFound) {
				a = models.Achievement{UserID: userID, Achievement: appendNew(nil, items)}
				return tx.Create(&a).Error
			}
			if err != nil {
				return err
			}
			a.Achievement = appendNew(a.Achievement, items)
			return tx.Model(&a).Select("achievement").Updates(&a).Error
		})
	}
	err := add()
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		// A concurrent first append created the row: append to it.
		err = add()
	}
	if err != nil {
		return models.Achievement{}, fmt.Errorf("add achievements: %w", err)
	}
	return a, nil
}

// appendNew appends the items of add that list lacks, in order.
func appendNew(list, add []string) []string {
	out := append([]string{}, list...)
	for _, it := range add {
		if !slices.Contains(out, it) {
			out = append(out, it)
		}
	}
	return out
}
