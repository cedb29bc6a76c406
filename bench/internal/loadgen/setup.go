package loadgen

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// api creates the users and friendships a scenario needs, over the REST
// subset both servers implement. Requests that act as a user carry that
// user's token (strict mode checks it; compat mode and the peer ignore it).
type api struct {
	base   string
	client *http.Client
	nonce  string
	secret []byte
}

func newAPI(cfg Config) *api {
	tr := &http.Transport{MaxIdleConnsPerHost: cfg.Workers, MaxConnsPerHost: cfg.Workers, IdleConnTimeout: 30 * time.Second}
	return &api{
		base:   cfg.URL,
		client: &http.Client{Transport: tr, Timeout: 30 * time.Second},
		nonce:  strconv.FormatInt(time.Now().UnixNano()%1e9, 36),
		secret: []byte(cfg.Secret),
	}
}

func (a *api) close() { a.client.CloseIdleConnections() }

// do sends a request as user as ("" for none).
func (a *api) do(ctx context.Context, method, path, as string, body any, want int, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if as != "" {
		req.Header.Set("Authorization", "Bearer "+signHS256(a.secret, as))
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d: %.200s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// parallel runs f(i) for i in [0,n) on up to workers goroutines and returns
// the first error.
func parallel(ctx context.Context, n, workers int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int) // hands out indices to the workers
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for i := range next {
				if err := f(ctx, i); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}

// createUsers creates n users and returns their ids.
func (a *api) createUsers(ctx context.Context, n, workers int) ([]string, error) {
	ids := make([]string, n)
	err := parallel(ctx, n, workers, func(ctx context.Context, i int) error {
		tag := fmt.Sprintf("b%s-%d", a.nonce, i)
		var u struct {
			ID string `json:"id"`
		}
		if err := a.do(ctx, http.MethodPost, "/users", "", map[string]string{
			"email": tag + "@bench.test", "intraId": tag,
		}, http.StatusCreated, &u); err != nil {
			return err
		}
		if u.ID == "" {
			return fmt.Errorf("POST /users: no id")
		}
		ids[i] = u.ID
		return nil
	})
	return ids, err
}

// befriend makes accepted friendships of the given pairs.
func (a *api) befriend(ctx context.Context, pairs [][2]string, workers int) error {
	return parallel(ctx, len(pairs), workers, func(ctx context.Context, i int) error {
		p := pairs[i]
		if err := a.do(ctx, http.MethodPost, "/users/friend", p[0], map[string]string{
			"friendShipStatus": "PENDING", "userId": p[0], "friendId": p[1],
		}, http.StatusCreated, nil); err != nil {
			return err
		}
		return a.do(ctx, http.MethodPut, "/users/"+p[0]+"/friend/"+p[1], p[1], nil, http.StatusOK, nil)
	})
}

// authJSON is the Socket.IO auth object identifying userID: a signed token
// in strict mode, the bare id in compat mode.
func authJSON(mode string, secret []byte, userID string) string {
	if mode == "compat" {
		return `{"userId":"` + userID + `"}`
	}
	return `{"token":"` + signHS256(secret, userID) + `"}`
}

var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

// signHS256 returns the original's access token for userID: HS256 over
// {id, email, iat, exp} valid for a day (the server refuses tokens without exp).
func signHS256(secret []byte, userID string) string {
	claims, _ := json.Marshal(map[string]any{"id": userID, "email": userID + "@bench.test", "iat": time.Now().Unix(), "exp": time.Now().Add(24 * time.Hour).Unix()})
	unsigned := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(claims)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(unsigned))
	return unsigned + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
