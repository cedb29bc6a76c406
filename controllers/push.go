package controllers

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/onlinenow/onlinenow/dto"
	"github.com/onlinenow/onlinenow/services"
)

// RegisterPush adds the Web Push routes (issue 7) to r, a router built by
// NewRouter: the VAPID public key, the caller's subscriptions, and the
// browser side served from web (sw.js, client.js, demo.html) plus the
// notification icon.
func RegisterPush(r *gin.Engine, d Deps, push *services.PushService, web fs.FS) error {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	a := &api{Deps: d}
	r.GET("/push/vapid-public-key", a.wrap(func(c *gin.Context) error {
		return ok(c, http.StatusOK, gin.H{"publicKey": push.VAPIDPublicKey()})
	}))
	r.POST("/push/subscriptions", a.wrap(func(c *gin.Context) error {
		me, err := inboxOwner(c)
		if err != nil {
			return err
		}
		var in dto.PushSubscription
		if err := readJSON(c, &in, "a PushSubscription: {endpoint, keys: {p256dh, auth}}"); err != nil {
			return err
		}
		sub, err := push.Subscribe(c.Request.Context(), me, services.PushSubscriptionInput{
			Endpoint: in.Endpoint, P256dh: in.Keys.P256dh, Auth: in.Keys.Auth,
		})
		if err != nil {
			return err
		}
		return ok(c, http.StatusCreated, dto.FromPushSubscription(sub))
	}))
	r.DELETE("/push/subscriptions", a.wrap(func(c *gin.Context) error {
		me, err := inboxOwner(c)
		if err != nil {
			return err
		}
		var in dto.PushSubscription
		if err := readJSON(c, &in, "{endpoint}"); err != nil {
			return err
		}
		if in.Endpoint == "" {
			return &dto.BodyError{Msg: "body must be {endpoint}"}
		}
		if err := push.Unsubscribe(c.Request.Context(), me, in.Endpoint); err != nil {
			return err
		}
		return ok(c, http.StatusOK, gin.H{"deleted": true})
	}))

	files := []struct{ route, name, ctype string }{
		{"/push/sw.js", "sw.js", "text/javascript; charset=utf-8"},
		{"/push/client.js", "client.js", "text/javascript; charset=utf-8"},
		{"/push/demo", "demo.html", "text/html; charset=utf-8"},
	}
	for _, f := range files {
		content, err := fs.ReadFile(web, f.name)
		if err != nil {
			return err
		}
		serve := func(c *gin.Context) {
			c.Header("Cache-Control", "no-cache")
			c.Header("X-Content-Type-Options", "nosniff")
			if f.name == "sw.js" {
				// The worker may control the whole origin if a page asks.
				c.Header("Service-Worker-Allowed", "/")
			}
			c.Data(http.StatusOK, f.ctype, content)
		}
		r.GET(f.route, serve)
		r.HEAD(f.route, serve)
	}
	icon, err := notificationIcon()
	if err != nil {
		return err
	}
	serveIcon := func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=86400")
		c.Data(http.StatusOK, "image/png", icon)
	}
	r.GET(services.NotificationIcon, serveIcon)
	r.HEAD(services.NotificationIcon, serveIcon)
	return nil
}

// notificationIcon draws the 96×96 notification icon: a green disc, the
// "online" dot.
func notificationIcon() ([]byte, error) {
	const size = 96
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	green := color.NRGBA{R: 0x22, G: 0xc5, B: 0x5e, A: 0xff}
	for y := range size {
		for x := range size {
			dx, dy := float64(x)-size/2+0.5, float64(y)-size/2+0.5
			if dx*dx+dy*dy <= (size/2-4)*(size/2-4) {
				img.SetNRGBA(x, y, green)
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
