package controllers

import (
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/onlinenow/onlinenow/dto"
	"github.com/onlinenow/onlinenow/services"
)

// RegisterGame adds the game routes (contract 3.5) to r, a router built by
// NewRouter. GET also answers HEAD.
func RegisterGame(r *gin.Engine, game *services.GameService, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &api{Deps: Deps{Log: log}}
	h := a.wrap(func(c *gin.Context) error {
		// A user's invitations are theirs to read.
		if err := actAs(c, c.Param("id")); err != nil {
			return err
		}
		list, err := game.Invitations(c.Request.Context(), c.Param("id"))
		if err != nil {
			return err
		}
		return ok(c, http.StatusOK, dto.FromInvitations(list))
	})
	r.GET("/game/invitations/:id", h)
	r.HEAD("/game/invitations/:id", h)
}
