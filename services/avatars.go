package services

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/onlinenow/onlinenow/models"
)

// Avatar upload limits beyond the byte size.
const (
	maxAvatarSide   = 4096            // pixels, either side
	maxAvatarPixels = 4096 * 4096 / 2 // decoded area
)

// ErrTooLarge is an upload over the configured size.
var ErrTooLarge = errors.New("upload too large")

// avatarName is the shape of the file names the server chooses.
var avatarName = regexp.MustCompile(`^[0-9a-f]{32}\.(png|jpg)$`)

// AvatarService stores avatar images: only real PNG or JPEG content, decoded
// and re-encoded (which drops anything appended to or hidden in the file),
// under a name the server chooses.
type AvatarService struct {
	users    *UserService
	dir      string
	maxBytes int64
	baseURL  string // e.g. http://localhost:3000
}

// NewAvatarService stores files in dir (created if missing), accepts at
// most maxBytes per upload, and links them as baseURL + "/" + name.
func NewAvatarService(users *UserService, dir string, maxBytes int64, baseURL string) (*AvatarService, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("upload directory: %w", err)
	}
	return &AvatarService{users: users, dir: dir, maxBytes: maxBytes, baseURL: strings.TrimRight(baseURL, "/")}, nil
}

// MaxBytes is the largest upload accepted.
func (s *AvatarService) MaxBytes() int64 { return s.maxBytes }

// Store reads an image from r (at most MaxBytes), makes it the user's
// avatar and returns its URL. The user's previous uploaded file is removed.
func (s *AvatarService) Store(ctx context.Context, userID string, r io.Reader) (string, error) {
	u, err := s.users.User(ctx, userID)
	if err != nil {
		return "", err
	}
	data, err := io.ReadAll(io.LimitReader(r, s.maxBytes+1))
	if err != nil {
		return "", Public(ErrInvalid, "the file could not be read")
	}
	if int64(len(data)) > s.maxBytes {
		return "", Public(ErrTooLarge, "the file is larger than %d bytes", s.maxBytes)
	}
	out, ext, err := reencode(data)
	if err != nil {
		return "", err
	}
	rnd := make([]byte, 16)
	rand.Read(rnd)
	name := hex.EncodeToString(rnd) + "." + ext
	tmp, err := os.CreateTemp(s.dir, ".upload-*")
	if err != nil {
		return "", fmt.Errorf("store avatar: %w", err)
	}
	_, werr := tmp.Write(out)
	cerr := tmp.Close()
	if werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("store avatar: %w", errors.Join(werr, cerr))
	}
	if err := os.Rename(tmp.Name(), filepath.Join(s.dir, name)); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("store avatar: %w", err)
	}
	url := s.baseURL + "/" + name
	if err := s.users.updateUser(ctx, "set avatar", u.ID, map[string]any{"avatar": url}); err != nil {
		os.Remove(filepath.Join(s.dir, name))
		return "", err
	}
	if old := s.ownFile(u); old != "" {
		os.Remove(filepath.Join(s.dir, old))
	}
	return url, nil
}

// ownFile is the name of the user's avatar file if it is one of ours.
func (s *AvatarService) ownFile(u models.User) string {
	if u.Avatar == nil {
		return ""
	}
	name, ok := strings.CutPrefix(*u.Avatar, s.baseURL+"/")
	if !ok || !avatarName.MatchString(name) {
		return ""
	}
	return name
}

// Open opens a stored avatar by name; names the server did not choose are
// ErrNotFound. The content type is image/png or image/jpeg.
func (s *AvatarService) Open(name string) (f *os.File, contentType string, err error) {
	if !avatarName.MatchString(name) {
		return nil, "", ErrNotFound
	}
	f, err = os.Open(filepath.Join(s.dir, name))
	if err != nil {
		return nil, "", ErrNotFound
	}
	if strings.HasSuffix(name, ".png") {
		return f, "image/png", nil
	}
	return f, "image/jpeg", nil
}

var errNotImage = Public(ErrInvalid, "File type not allowed: only PNG or JPEG images")

// reencode checks that data is a PNG or JPEG by its magic bytes and its
// decoded header, decodes it whole and encodes it again.
func reencode(data []byte) ([]byte, string, error) {
	var format string
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		format = "png"
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}):
		format = "jpeg"
	default:
		return nil, "", errNotImage
	}
	cfg, got, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || got != format {
		return nil, "", errNotImage
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > maxAvatarSide || cfg.Height > maxAvatarSide || cfg.Width*cfg.Height > maxAvatarPixels {
		return nil, "", Public(ErrInvalid, "the image must be at most %dx%d pixels", maxAvatarSide, maxAvatarSide)
	}
	var img image.Image
	if format == "png" {
		img, err = png.Decode(bytes.NewReader(data))
	} else {
		img, err = jpeg.Decode(bytes.NewReader(data))
	}
	if err != nil {
		return nil, "", errNotImage
	}
	var buf bytes.Buffer
	if format == "png" {
		err = png.Encode(&buf, img)
		return buf.Bytes(), "png", err
	}
	err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
	return buf.Bytes(), "jpg", err
}
