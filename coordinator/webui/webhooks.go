package webui

import (
	"net/http"
	"slices"
	"strings"

	"github.com/custos-dev/custos/coordinator"
	"github.com/labstack/echo/v4"
)

type webhookForm struct {
	URL    string
	Events map[string]bool
}

// webhookRow is a webhook with the name of the person who created it.
type webhookRow struct {
	*coordinator.Webhook
	Creator string
}

type webhooksData struct {
	Hooks      []webhookRow
	EventTypes []string
	Form       webhookForm
	Error      string
	Notice     string
	Confirm    *webhookRow // the webhook to be deleted
}

func (u *UI) webhookRows(c echo.Context) ([]webhookRow, error) {
	ctx, p := c.Request().Context(), principal(c)
	hooks, err := u.svc.ListWebhooks(ctx, p)
	if err != nil {
		return nil, err
	}
	names, err := u.userNames(c)
	if err != nil {
		return nil, err
	}
	rows := make([]webhookRow, 0, len(hooks))
	for _, w := range hooks {
		creator := names[strings.TrimPrefix(w.CreatedBy, "user:")]
		if creator == "" {
			creator = w.CreatedBy
		}
		rows = append(rows, webhookRow{Webhook: w, Creator: creator})
	}
	return rows, nil
}

// webhooks lists the webhooks and how their deliveries go, with the form
// to create one and, per webhook, disable or enable and deletion
// (?delete=ID asks to confirm).
func (u *UI) webhooks(c echo.Context) error {
	hooks, err := u.webhookRows(c)
	if err != nil {
		return err
	}
	d := webhooksData{Hooks: hooks, EventTypes: coordinator.WebhookEventTypes(),
		Form: webhookForm{Events: map[string]bool{"transaction.*": true, "request.*": true}}}
	byID := func(id string) int { return slices.IndexFunc(hooks, func(w webhookRow) bool { return w.ID == id }) }
	if id := c.QueryParam("delete"); id != "" {
		i := byID(id)
		if i < 0 {
			return u.status(c, http.StatusNotFound, "There is no such webhook.")
		}
		d.Confirm = &hooks[i]
	}
	switch c.QueryParam("notice") {
	case "deleted":
		d.Notice = "The webhook was deleted: nothing more is sent to it."
	case "disabled":
		d.Notice = "The webhook was disabled: nothing is sent to it until it is enabled again."
	case "enabled":
		d.Notice = "The webhook was enabled: the events recorded while it was disabled are sent too, in order."
	}
	return u.render(c, http.StatusOK, "webhooks", "Webhooks", d)
}

type webhookCreated struct {
	Webhook *coordinator.Webhook
	Secret  string
}

// createWebhook creates a webhook and shows its signing secret, this
// once: only a sealed copy is kept.
func (u *UI) createWebhook(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return u.status(c, http.StatusBadRequest, "The form could not be read.")
	}
	f := webhookForm{URL: strings.TrimSpace(form.Get("url")), Events: map[string]bool{}}
	for _, e := range form["event"] {
		f.Events[e] = true
	}
	w, secret, err := u.svc.CreateWebhook(c.Request().Context(), principal(c), coordinator.WebhookInput{URL: f.URL, Events: form["event"]})
	if err != nil {
		status, msg, ok := refusal(err)
		if !ok {
			return err
		}
		hooks, err := u.webhookRows(c)
		if err != nil {
			return err
		}
		return u.render(c, status, "webhooks", "Webhooks", webhooksData{Hooks: hooks, EventTypes: coordinator.WebhookEventTypes(),
			Form: f, Error: msg})
	}
	// Never stored by a browser or a proxy: the page is the secret's only copy.
	return u.render(c, http.StatusOK, "webhook-created", "Webhook created", webhookCreated{Webhook: w, Secret: secret.Reveal()})
}

func (u *UI) enableWebhook(c echo.Context) error  { return u.setWebhookEnabled(c, true) }
func (u *UI) disableWebhook(c echo.Context) error { return u.setWebhookEnabled(c, false) }

func (u *UI) setWebhookEnabled(c echo.Context, enabled bool) error {
	id := c.Param("id")
	if err := u.svc.SetWebhookEnabled(c.Request().Context(), principal(c), id, enabled); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, withNotice("/admin/webhooks", map[bool]string{true: "enabled", false: "disabled"}[enabled], id))
}

// deleteWebhook deletes a webhook (confirmed on the list first).
func (u *UI) deleteWebhook(c echo.Context) error {
	id := c.Param("id")
	if err := u.svc.DeleteWebhook(c.Request().Context(), principal(c), id); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, withNotice("/admin/webhooks", "deleted", id))
}
