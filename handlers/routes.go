package handlers

import (
	"github.com/labstack/echo/v4"
)

// routes is dropday's one route table. Read it top to bottom to see every URL.
func (s *Server) routes(e *echo.Echo) {
	e.Use(s.requestID(), s.recoverPanics, s.logRequests, s.secureHeaders, s.limitBody)
	if s.Config.Demo {
		e.Use(s.demoMark)
	}

	// Operations.
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", s.metrics) // bearer DROPDAY_METRICS_TOKEN; 404 without one

	// Files: embedded static assets and uploaded artwork.
	e.GET("/static/*", s.static)
	e.GET("/media/artwork/:key/:file", s.artworkFile)
	e.GET("/favicon.ico", s.favicon)
	e.GET("/robots.txt", s.robots)

	// Admin sign-in. Every admin POST carries a CSRF token (or a same-origin Fetch-Metadata header).
	csrf := s.csrf()
	e.GET("/", s.home)
	e.GET("/setup", s.setupPage, csrf)
	e.POST("/setup", s.setupSubmit, csrf)
	e.GET("/login", s.loginPage, csrf)
	e.POST("/login", s.loginSubmit, csrf)
	e.POST("/logout", s.logout, csrf, s.requireAdmin)
	e.GET("/invite/:token", s.invitePage, csrf)
	e.POST("/invite/:token", s.inviteAccept, csrf)
	e.GET("/password/forgot", s.forgotPage, csrf)
	e.POST("/password/forgot", s.forgotSubmit, csrf)
	e.GET("/password/reset/:token", s.resetPage, csrf)
	e.POST("/password/reset/:token", s.resetSubmit, csrf)

	// The admin panel, scoped to the session's workspace.
	// forgetPages: a change made here shows on the landing pages at once.
	a := e.Group("/admin", csrf, s.requireAdmin, s.forgetPages)
	a.GET("", s.adminHome)
	a.GET("/links", s.linkList)
	a.GET("/links/new", s.linkNew)
	a.POST("/links", s.linkCreate)
	a.GET("/links/:id", s.linkEdit)
	a.POST("/links/:id", s.linkUpdate)
	a.POST("/links/:id/archive", s.linkArchive)
	a.GET("/links/:id/subscribers", s.linkSubscribers)
	a.GET("/links/:id/subscribers/export.csv", s.linkSubscriberExport)
	a.GET("/links/:id/share", s.linkShare)
	a.GET("/links/:id/share/stats", s.linkShareStats)
	a.GET("/links/:id/qr.png", s.linkQR)
	a.POST("/links/:id/deliver", s.linkDeliver)
	// Where the link's release is on each platform, and the artist's own addresses.
	a.GET("/links/:id/platforms", s.linkPlatforms)
	a.POST("/links/:id/platforms", s.linkPlatformsSave)
	a.POST("/links/:id/platforms/check", s.linkPlatformsCheck)
	// The link's release-day email.
	a.GET("/links/:id/broadcast", s.linkBroadcast)
	a.POST("/links/:id/broadcast", s.linkBroadcastSave)
	a.GET("/links/:id/broadcast/preview.html", s.linkBroadcastPreview)
	a.GET("/links/:id/broadcast/status", s.linkBroadcastStatus)
	a.POST("/links/:id/broadcast/test", s.linkBroadcastTest)
	a.POST("/links/:id/broadcast/pause", s.linkBroadcastControl("pause"))
	a.POST("/links/:id/broadcast/resume", s.linkBroadcastControl("resume"))
	a.POST("/links/:id/broadcast/cancel", s.linkBroadcastControl("cancel"))
	// Insights: views, visitors, sources, pre-saves, signups and clicks.
	a.GET("/links/:id/insights", s.linkInsights)
	a.GET("/insights", s.workspaceInsights)
	// The workspace's fans and email.
	a.GET("/subscribers", s.subscriberList)
	a.GET("/subscribers/export.csv", s.subscriberExport)
	a.GET("/broadcasts", s.broadcastList)
	a.GET("/outbox", s.outboxList)
	a.GET("/outbox/:id", s.outboxMessage)
	a.GET("/outbox/:id/html", s.outboxHTML)
	a.GET("/members", s.memberList)
	a.POST("/members", s.memberAdd, s.requireOwner)
	a.POST("/members/:user/remove", s.memberRemove, s.requireOwner)
	a.POST("/invites/:id/delete", s.inviteDelete, s.requireOwner)
	a.GET("/settings", s.settingsPage)
	a.POST("/settings", s.settingsUpdate, s.requireOwner)
	a.POST("/tokens", s.tokenCreate, s.requireOwner)
	a.POST("/tokens/:id/delete", s.tokenDelete, s.requireOwner)
	// Fans' data rights and the audit log (issue 9): the log has no route that changes it.
	a.GET("/fans", s.fanSearch)
	a.GET("/fans/export.json", s.fanExport)
	a.POST("/fans/erase", s.fanEraseAdmin, s.requireOwner)
	a.GET("/audit", s.auditList, s.requireOwner)
	a.POST("/settings/privacy", s.privacySettingsUpdate, s.requireOwner)
	a.POST("/workspaces", s.workspaceCreate)
	a.POST("/workspaces/:id/switch", s.workspaceSwitch)

	// The JSON API, authenticated by workspace API tokens.
	api := e.Group("/api/v1", s.requireAPIToken, s.forgetPages)
	api.GET("/links", s.apiLinkList)
	api.POST("/links", s.apiLinkCreate)
	api.GET("/links/:id", s.apiLinkGet)
	api.PATCH("/links/:id", s.apiLinkUpdate)
	api.GET("/links/:id/subscribers", s.apiLinkSubscribers)
	api.GET("/links/:id/presaves", s.apiLinkPresaves)
	api.POST("/links/:id/deliver", s.apiLinkDeliver)

	// The fan's direct pre-save: consent on the platform, the confirmation, one-click undo.
	e.GET("/oauth/:platform/callback", s.oauthCallback)
	// Apple Music pre-add: the page posts the Music User Token MusicKit JS
	// gave it, with the one-time state from the pre-save POST (issue 7).
	e.POST("/oauth/:platform/token", s.presaveToken, s.sameOrigin)
	e.GET("/revoke/:token", s.revokePage)
	e.POST("/revoke/:token", s.revokeSubmit, s.sameOrigin)

	// The fan's email: RFC 8058 unsubscribe. The POST takes no CSRF or Origin
	// check (mail providers send the one-click POST from their servers); the
	// GET only shows the button, because mail scanners fetch links.
	e.GET("/unsubscribe/:token", s.unsubscribePage)
	e.POST("/unsubscribe/:token", s.unsubscribeSubmit)
	e.POST("/unsubscribe/:token/resubscribe", s.resubscribeSubmit, s.sameOrigin)

	// The fan's privacy page and data rights (issue 9): proof is the undo or
	// unsubscribe token, or a session opened by a single-use emailed link.
	e.GET("/privacy/:slug", s.privacyPage)
	e.POST("/privacy/:slug/email", s.privacyEmail, s.sameOrigin)
	e.GET("/privacy/:slug/verify/:token", s.privacyVerifyPage)
	e.POST("/privacy/:slug/verify/:token", s.privacyVerify, s.sameOrigin)
	e.GET("/privacy/:slug/data/:proof", s.fanData)
	e.GET("/privacy/:slug/data/:proof/export.json", s.fanDataExport)
	e.POST("/privacy/:slug/data/:proof/erase", s.fanErase, s.sameOrigin)

	// The mail service's signed delivery events (Svix): the signature is the authority.
	e.POST("/webhooks/resend", s.resendWebhook)

	// The fan's pages: last, so every fixed path above wins over a slug.
	e.GET("/:slug", s.landing)
	e.HEAD("/:slug", s.landing) // link previewers probe with HEAD
	e.POST("/:slug/signup", s.signup, s.sameOrigin)
	e.POST("/:slug/presave/:platform", s.presaveStart, s.sameOrigin)
	e.GET("/:slug/presaved", s.presaved)
	// The smart link's "listen" buttons: count the click, redirect to the stored URL.
	e.GET("/:slug/go/:platform", s.listenClick)
	e.HEAD("/:slug/go/:platform", s.listenClick) // previewers probe; answered, not counted
}
