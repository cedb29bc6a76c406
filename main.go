// Command onlinenow serves the presence and notification backend: HTTP (Gin)
// and Socket.IO v4 on one port.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/zishang520/socket.io/servers/socket/v3"
	"golang.org/x/sync/errgroup"
	"gorm.io/gorm"

	"github.com/onlinenow/onlinenow/config"
	"github.com/onlinenow/onlinenow/controllers"
	"github.com/onlinenow/onlinenow/database"
	"github.com/onlinenow/onlinenow/gateways"
	"github.com/onlinenow/onlinenow/services"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	gin.SetMode(gin.ReleaseMode)
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "onlinenow:", err)
		os.Exit(1)
	}
}

// sqliteCheckpointEvery is how often the embedded database's WAL is
// copied into its file, off the request path (database.Checkpointer).
const sqliteCheckpointEvery = 250 * time.Millisecond

// run wires the server from the environment and serves until ctx is done,
// then shuts down in order: HTTP, Socket.IO, presence, database.
func run(ctx context.Context, getenv config.Getenv, stdout io.Writer) error {
	log := slog.New(slog.NewTextHandler(stdout, nil))

	var dotenv io.Reader
	if f, err := os.Open(".env"); err == nil {
		defer f.Close()
		dotenv = f
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("open .env: %w", err)
	}
	cfg, err := config.Load(getenv, dotenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log.Info("starting", cfg.LogValue()...)
	if cfg.JWTGenerated {
		log.Warn("JWT_SECRET is not set: a random secret was generated, so tokens die with this process")
	}
	if cfg.AuthMode == config.AuthCompat {
		log.Warn("AUTH_MODE=compat: sockets are trusted to say who they are (auth.userId), as the original backend did")
	}

	db, err := database.Open(ctx, cfg.DatabaseURL, cfg.SQLitePath, cfg.DBMaxConns, log)
	if err != nil {
		return err
	}
	defer func() {
		if err := database.Close(db); err != nil {
			log.Error("close database", "err", err)
		}
	}()

	users := services.NewUserService(db)
	social := services.NewSocialService(db)
	chat := services.NewChatService(db, social)
	tokens := services.NewTokens(cfg.JWTSecret)
	presence := services.NewPresence(cfg.PresenceGrace, services.NewStatusStore(db), nil, log)
	if n, err := presence.Reset(ctx); err != nil {
		return fmt.Errorf("reset presence: %w", err)
	} else if n > 0 {
		log.Info("presence reset: users left online by a previous process are offline", "users", n)
	}

	sio := gateways.NewServer(cfg)
	gw := gateways.Register(sio, gateways.Deps{
		Config: cfg, Users: users, Social: social, Chat: chat, Presence: presence, Tokens: tokens, Log: log,
	})
	presence.SetNotifier(gw)

	router := controllers.NewRouter(controllers.Deps{
		Config: cfg, Users: users, Social: social, Chat: chat, Presence: presence, Log: log,
	})

	c := &core{
		cfg: cfg, log: log, db: db, sio: sio, router: router,
		users: users, social: social, chat: chat, presence: presence, tokens: tokens, app: gw,
		background: []func(context.Context) error{presence.Run},
	}
	for _, wire := range []func(*core) error{wireNotifications, wirePush, wireChannels, wireGame, wireAuth} {
		if err := wire(c); err != nil {
			return err
		}
	}
	router.Any("/socket.io/*any", gin.WrapH(gateways.SameOrigin(sio.ServeHandler(nil))))

	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           router,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// WriteTimeout stays 0: long-polling requests are held open.
	}

	if cfg.DatabaseURL == "" {
		cp, err := database.NewCheckpointer(cfg.SQLitePath, sqliteCheckpointEvery, log)
		if err != nil {
			ln.Close()
			return err
		}
		c.background = append(c.background, cp.Run)
	}

	// The background parts (presence, module timers) outlive ctx: they stop
	// only after the sockets are closed.
	bgCtx, stopBackground := context.WithCancel(context.Background())
	defer stopBackground()
	var bg errgroup.Group
	for _, run := range c.background {
		bg.Go(func() error { return run(bgCtx) })
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		log.Info("listening", "addr", ln.Addr().String())
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
		return nil
	})
	if cfg.PprofAddr != "" {
		psrv := &http.Server{Addr: cfg.PprofAddr, Handler: pprofMux(), ReadHeaderTimeout: 10 * time.Second}
		g.Go(func() error {
			log.Warn("profiling endpoints are served", "addr", cfg.PprofAddr)
			if err := psrv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("pprof: %w", err)
			}
			return nil
		})
		g.Go(func() error {
			<-gctx.Done()
			return psrv.Close()
		})
	}
	g.Go(func() error {
		<-gctx.Done()
		log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		// Shutdown stops accepting at once but then waits for open requests,
		// and long-polls are held open: close Socket.IO meanwhile, which
		// ends them (and the hijacked WebSockets Shutdown ignores).
		shutdown := make(chan error, 1)
		go func() { shutdown <- srv.Shutdown(sctx) }()
		if !within(cfg.ShutdownTimeout, func() { sio.Close(nil) }) {
			log.Error("closing Socket.IO timed out", "after", cfg.ShutdownTimeout)
		}
		err := <-shutdown
		if errors.Is(err, context.DeadlineExceeded) {
			log.Error("HTTP shutdown timed out: closing the remaining connections")
			err = srv.Close()
		}
		stopBackground()
		var berr error
		if !within(cfg.ShutdownTimeout, func() { berr = bg.Wait() }) {
			log.Error("background loops did not stop in time", "after", cfg.ShutdownTimeout)
		} else if berr != nil {
			log.Error("background", "err", berr)
		}
		log.Info("stopped")
		return err
	})
	return g.Wait()
}

// core is what every module of the server is wired from. A module's wire
// function registers its routes on router and its namespaces on sio, and
// appends its background loops (stopped after the sockets close) to
// background.
type core struct {
	cfg    config.Config
	log    *slog.Logger
	db     *gorm.DB
	sio    *socket.Server
	router *gin.Engine

	users    *services.UserService
	social   *services.SocialService
	chat     *services.ChatService
	presence *services.Presence
	tokens   *services.Tokens
	app      *gateways.Gateways // /appGateway and /chatGateway
	// inbox records notifications (set by wireNotifications, which runs
	// first, so the other modules' gateways can record theirs).
	inbox *services.Notifications
	// inboxGateway is the inbox side of /appGateway: it knows which tabs
	// are open and visible (set by wireNotifications).
	inboxGateway *gateways.NotificationGateway

	background []func(context.Context) error
}

// pprofMux serves the runtime profiles (PPROF_ADDR), for performance work.
func pprofMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// within runs fn and reports whether it returned within d. If it did not,
// fn keeps running in its goroutine; the process is about to exit.
func within(d time.Duration, fn func()) bool {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}
