package webui

import (
	"encoding/hex"
	"github.com/custos-dev/custos/approvals"
	"net/http"

	"github.com/custos-dev/custos/approvals/intent"
	"github.com/custos-dev/custos/approvals/policy"
	"github.com/custos-dev/custos/coordinator"
	"github.com/custos-dev/custos/store"
	"github.com/labstack/echo/v4"
)

type queueData struct {
	NeedsMe, Others []queueRow
}

type queueRow struct {
	*coordinator.QueueItem
	Amount string // in whole units of the asset, for transfers
}

// decimals maps each asset with a rate to its decimals.
func (u *UI) decimals(c echo.Context) (map[string]int, error) {
	rates, err := u.svc.ListRates(c.Request().Context(), principal(c))
	if err != nil {
		return nil, err
	}
	out := make(map[string]int, len(rates))
	for _, r := range rates {
		out[r.Asset] = r.Decimals
	}
	return out, nil
}

func decimalsOf(m map[string]int, asset string) int {
	if d, ok := m[asset]; ok {
		return d
	}
	return -1
}

// queue is the approval queue: what needs the signed-in person first,
// then the rest of what is pending.
func (u *UI) queue(c echo.Context) error {
	items, err := u.svc.Queue(c.Request().Context(), principal(c), 0)
	if err != nil {
		return err
	}
	dec, err := u.decimals(c)
	if err != nil {
		return err
	}
	var d queueData
	for _, it := range items {
		row := queueRow{QueueItem: it}
		if t := it.Transaction; t != nil {
			row.Amount = units(t.Amount, decimalsOf(dec, t.Asset))
		}
		if it.NeedsMe {
			d.NeedsMe = append(d.NeedsMe, row)
		} else {
			d.Others = append(d.Others, row)
		}
	}
	return u.render(c, http.StatusOK, "queue", "Approval queue", d)
}

// queueCounts answers the queue page's polling: how many requests need
// the signed-in person, and how many are pending in all.
func (u *UI) queueCounts(c echo.Context) error {
	mine, pending, err := u.svc.QueueCounts(c.Request().Context(), principal(c))
	if err != nil {
		return u.jsonError(c, err)
	}
	return c.JSON(http.StatusOK, map[string]int{"needs_me": mine, "pending": pending})
}

type requestData struct {
	View        *coordinator.RequestView
	Transaction *store.Transaction
	Amount      string
	Fingerprint string
	Words       string // the fingerprint as words (intent.WordString)
	Requester   string
	// PolicyChange is what a policy.change request changes.
	PolicyChange *policyChange
	// Facts of a transfer: the rate it was valued at, the allowlist, the
	// approval tier (see transferFacts).
	Facts *factsView
	// Decide is the signed-in person's decision panel.
	Decide *decideData
	// Voted is the decision just recorded ("" unless the page follows a vote).
	Voted string
}

// request shows one request decoded, with its approvals so far.
func (u *UI) request(c echo.Context) error {
	p := principal(c)
	v, err := u.svc.GetRequest(c.Request().Context(), p, c.Param("id"))
	if err != nil {
		return err
	}
	d := requestData{View: v, Fingerprint: hex.EncodeToString(v.Request.Fingerprint), Words: intent.WordString(v.Request.Fingerprint)}
	if r, ok := v.Roster[v.Request.RequesterID]; ok {
		d.Requester = r.Name
	}
	if v.Request.Action == "transfer" {
		facts, err := u.svc.TransferFactsOf(c.Request().Context(), p, v.Request.ID)
		if err != nil {
			return err
		}
		d.Transaction, d.Facts = facts.Transaction, factsOf(facts)
		dec, err := u.decimals(c)
		if err != nil {
			return err
		}
		d.Amount = units(d.Transaction.Amount, decimalsOf(dec, d.Transaction.Asset))
	}
	if v.Request.Action == policy.ActionPolicyChange {
		if d.PolicyChange, err = u.policyChange(c, v.Request); err != nil {
			return err
		}
	}
	d.Decide = u.decide(c, v)
	if voted := c.QueryParam("voted"); voted == approvals.Approve || voted == approvals.Reject {
		d.Voted = voted
	}
	return u.render(c, http.StatusOK, "request", "Request "+v.Request.ID, d)
}
