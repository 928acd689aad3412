package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/custos-dev/custos/store"
)

// The spend ledger is two tables: spend_entries, one row per entry with
// running totals, and spend_heads, one row per wallet holding the latest
// (seq, at_us, cum_eur_cents). CreateWallet creates the head at seq 0, so
// there is always a row to lock, and a missing head means a missing wallet.
//
// Because At never decreases with Seq, the entries with At >= since are
// exactly those after the last entry with At < since, and
// SpendSince = head totals - that entry's totals: two index seeks whatever
// the number of entries.

// minAtUS is the at_us of an empty ledger head: no entry is earlier.
const minAtUS = math.MinInt64

const spendCols = `wallet_id, seq, at_us, eur_cents, cum_eur_cents, cum_count, transaction_id`

func scanSpend(s scanner) (*store.SpendEntry, error) {
	var e store.SpendEntry
	var at int64
	if err := s.Scan(&e.WalletID, &e.Seq, &at, &e.EURCents, &e.CumEURCents, &e.CumCount, &e.TransactionID); err != nil {
		return nil, err
	}
	e.At = fromUS(at)
	return &e, nil
}

// lockSpendHead locks the wallet's ledger head until commit in a read-write
// transaction on an engine with row locks; elsewhere it does nothing.
func (t *Tx) lockSpendHead(ctx context.Context, op, walletID string) error {
	lock := t.forUpdate()
	if lock == "" || t.lockedHeads[walletID] {
		return nil // no row locks (SQLite), or held until commit already
	}
	var seq int64
	err := t.c.QueryRow(ctx, `SELECT seq FROM spend_heads WHERE wallet_id = $1`+lock, walletID).Scan(&seq)
	if err != nil && !errors.Is(err, ErrNoRows) {
		return t.fail(op, err)
	}
	if err == nil {
		if t.lockedHeads == nil {
			t.lockedHeads = map[string]bool{}
		}
		t.lockedHeads[walletID] = true
	}
	return nil
}

// AppendSpend implements store.Tx. It truncates At to the microsecond and
// raises it to the previous entry's At if earlier, then sets e.Seq,
// e.CumEURCents and e.CumCount. ErrNotFound if the wallet is missing.
// Concurrent appends for one wallet serialize on its ledger head row.
func (t *Tx) AppendSpend(ctx context.Context, e *store.SpendEntry) error {
	op := "append spend to wallet " + strconv.Quote(e.WalletID)
	if err := t.writable(op); err != nil {
		return err
	}
	// The head row exists from CreateWallet on; the UPDATE locks it, so
	// concurrent appends for one wallet take turns.
	var seq, at, cum int64
	err := t.c.QueryRow(ctx, `UPDATE spend_heads SET
			seq = seq + 1,
			at_us = CASE WHEN at_us > $2 THEN at_us ELSE $2 END,
			cum_eur_cents = cum_eur_cents + $3
		WHERE wallet_id = $1
		RETURNING seq, at_us, cum_eur_cents`,
		e.WalletID, us(e.At), e.EURCents).Scan(&seq, &at, &cum)
	if err != nil {
		return t.fail(op+": no such wallet", err) // ErrNoRows -> ErrNotFound
	}
	if _, err := t.c.Exec(ctx, `INSERT INTO spend_entries (`+spendCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		e.WalletID, seq, at, e.EURCents, cum, seq, e.TransactionID); err != nil {
		return t.fail(op, err)
	}
	e.Seq, e.At, e.CumEURCents, e.CumCount = seq, fromUS(at), cum, seq
	return nil
}

// SpendSince implements store.Tx: the sum and count of the wallet's entries
// with At >= since; zero for an unknown wallet. In a read-write transaction
// on PostgreSQL it locks the wallet's ledger head until commit, so a limit
// check followed by AppendSpend cannot interleave with another
// transaction's for the same wallet.
func (t *Tx) SpendSince(ctx context.Context, walletID string, since time.Time) (eurCents int64, count int64, err error) {
	op := "spend since of wallet " + strconv.Quote(walletID)
	if err := t.lockSpendHead(ctx, op, walletID); err != nil {
		return 0, 0, err
	}
	// Entries are stored at microsecond precision: the first one that
	// counts is at or after since rounded up to the microsecond.
	s := since.UnixMicro()
	if since.Sub(time.UnixMicro(s)) > 0 {
		s++
	}
	var headCum, headSeq, beforeCum, beforeSeq int64
	err = t.c.QueryRow(ctx, `SELECT h.cum_eur_cents, h.seq, COALESCE(b.cum_eur_cents, 0), COALESCE(b.cum_count, 0)
		FROM spend_heads h
		LEFT JOIN spend_entries b ON b.wallet_id = h.wallet_id AND b.seq = (
			SELECT s.seq FROM spend_entries s WHERE s.wallet_id = $1 AND s.at_us < $2
			ORDER BY s.at_us DESC, s.seq DESC LIMIT 1)
		WHERE h.wallet_id = $1`, walletID, s).Scan(&headCum, &headSeq, &beforeCum, &beforeSeq)
	if errors.Is(err, ErrNoRows) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, t.fail(op, err)
	}
	return headCum - beforeCum, headSeq - beforeSeq, nil
}

// LastSpend implements store.Tx: the newest entry, ErrNotFound if none. It
// locks like SpendSince.
func (t *Tx) LastSpend(ctx context.Context, walletID string) (*store.SpendEntry, error) {
	op := "last spend of wallet " + strconv.Quote(walletID)
	if err := t.lockSpendHead(ctx, op, walletID); err != nil {
		return nil, err
	}
	return queryOne(ctx, t, op,
		`SELECT `+spendCols+` FROM spend_entries WHERE wallet_id = $1 ORDER BY seq DESC LIMIT 1`, scanSpend, walletID)
}

// SpendWindows implements store.Tx: the head and, per window, the running
// totals of the last entry before its start, in one statement (on
// PostgreSQL it also takes the ledger-head lock).
func (t *Tx) SpendWindows(ctx context.Context, walletID string, sinces []time.Time) ([]store.SpendSum, time.Time, error) {
	op := "spend windows of wallet " + strconv.Quote(walletID)
	sums := make([]store.SpendSum, len(sinces))
	if len(sinces) == 0 || len(sinces) > 16 {
		return nil, time.Time{}, fmt.Errorf("store: %s: want 1 to 16 windows", op)
	}
	var q strings.Builder
	q.WriteString(`SELECT h.cum_eur_cents, h.seq, h.at_us`)
	args := []any{walletID}
	for _, since := range sinces {
		s := since.UnixMicro()
		if since.Sub(time.UnixMicro(s)) > 0 {
			s++
		}
		args = append(args, s)
		n := strconv.Itoa(len(args))
		sub := ` FROM spend_entries s WHERE s.wallet_id = $1 AND s.at_us < $` + n + ` ORDER BY s.at_us DESC, s.seq DESC LIMIT 1), 0)`
		q.WriteString(`, COALESCE((SELECT s.cum_eur_cents` + sub + `, COALESCE((SELECT s.cum_count` + sub)
	}
	q.WriteString(` FROM spend_heads h WHERE h.wallet_id = $1`)
	lock := t.forUpdate()
	if lock != "" && !t.lockedHeads[walletID] {
		q.WriteString(lock)
	}
	var headCum, headSeq, atUS int64
	dest := []any{&headCum, &headSeq, &atUS}
	before := make([][2]int64, len(sinces))
	for i := range before {
		dest = append(dest, &before[i][0], &before[i][1])
	}
	err := t.c.QueryRow(ctx, q.String(), args...).Scan(dest...)
	if errors.Is(err, ErrNoRows) {
		return sums, time.Time{}, nil // no spend yet
	}
	if err != nil {
		return nil, time.Time{}, t.fail(op, err)
	}
	if lock != "" {
		if t.lockedHeads == nil {
			t.lockedHeads = map[string]bool{}
		}
		t.lockedHeads[walletID] = true
	}
	for i := range sums {
		sums[i] = store.SpendSum{EURCents: headCum - before[i][0], Count: headSeq - before[i][1]}
	}
	var last time.Time
	if headSeq > 0 {
		last = fromUS(atUS)
	}
	return sums, last, nil
}
