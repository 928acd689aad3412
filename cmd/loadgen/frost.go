package main

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bm "github.com/bytemare/frost"
	"github.com/bytemare/frost/debug"
	"github.com/bytemare/secret-sharing/keys"
	"github.com/custos-dev/custos/approvals"
	"github.com/custos-dev/custos/client"
	"github.com/custos-dev/custos/frost"
	"github.com/custos-dev/custos/internal/keyfile"
	"github.com/custos-dev/custos/internal/timing"
)

// frostOptions configures the FROST measurement.
type frostOptions struct {
	sets        []thresholdSet // (t, n) pairs, ascending n
	dkgRuns     int            // ceremonies per set
	signs       int            // sequential transfers per set for latency
	duration    time.Duration  // throughput run per concurrency level
	concurrency []int
}

type thresholdSet struct{ t, n int }

func (s thresholdSet) String() string { return fmt.Sprintf("%d-of-%d", s.t, s.n) }

func parseSets(v string) ([]thresholdSet, error) {
	var out []thresholdSet
	for _, f := range strings.Split(v, ",") {
		a, b, ok := strings.Cut(strings.TrimSpace(f), "-")
		t, err1 := strconv.Atoi(a)
		n, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || t < 2 || t > n || n > 15 {
			return nil, fmt.Errorf("threshold set %q: want t-n with 2 <= t <= n <= 15", f)
		}
		out = append(out, thresholdSet{t, n})
	}
	return out, nil
}

// frostSystem is a running `custos dev` with guardian processes, and the
// sessions the measurement uses.
type frostSystem struct {
	base      string
	api       *client.Client // the demo API key: submits transfers
	admin     *client.Client // ada: creates wallets
	auditor   *client.Client // aude: reads the audit log
	approvers []approver     // tess (treasury manager), alice, bob
	guardians []string       // names g1..gN
	endpoints map[string]string
}

type approver struct {
	cl  *client.Client
	key ed25519.PrivateKey
}

// runFROST measures, against real guardian processes on loopback: the DKG
// wall time per (t, n); the latency from "approved" to "verified signature
// stored" of sequential transfers; signatures per second with concurrent
// clients; and, in the same process, the cost of the same FROST signing
// with no network, plus one loopback round trip to t guardians.
func runFROST(bin string, o frostOptions) error {
	maxN := 0
	for _, s := range o.sets {
		maxN = max(maxN, s.n)
	}
	dir, err := os.MkdirTemp("", "custos-loadgen-frost-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	base, stop, err := startDev(bin, dir, "--log-level", "warn", "--guardians", strconv.Itoa(maxN), "--guardian-port", "0")
	if err != nil {
		return err
	}
	defer stop()
	sys, err := connectFROST(dir, base, maxN)
	if err != nil {
		return err
	}
	ctx := context.Background()
	if err := sys.loadPolicy(ctx); err != nil {
		return fmt.Errorf("installing the load-test policy: %w", err)
	}

	fmt.Printf("FROST(Ed25519) with %d guardian processes on loopback, coordinator on SQLite (custos dev)\n", maxN)
	for _, set := range o.sets {
		var dkg []time.Duration
		var walletID, groupKey string
		for run := 0; run < o.dkgRuns; run++ {
			id, key, d, err := sys.createWallet(ctx, set, run)
			if err != nil {
				return fmt.Errorf("%s key ceremony: %w", set, err)
			}
			dkg = append(dkg, d)
			walletID, groupKey = id, key
		}
		inproc, err := inProcessFROST(set, 300)
		if err != nil {
			return err
		}
		alone, err := bytemareFROST(set, 300)
		if err != nil {
			return err
		}
		rtt, err := sys.loopbackRTT(ctx, set.t, 300)
		if err != nil {
			return err
		}
		seqSigned, err := sys.sequentialSigning(ctx, walletID, groupKey, o.signs)
		if err != nil {
			return fmt.Errorf("%s signing: %w", set, err)
		}
		lat := storedTimes(seqSigned)
		callLat := make([]time.Duration, len(seqSigned))
		for i, sg := range seqSigned {
			callLat[i] = sg.call
		}
		slices.Sort(callLat)
		slices.Sort(dkg)
		fmt.Printf("%s  DKG wall time (approved request to active wallet, %d ceremonies): median %s, min %s, max %s\n",
			set, len(dkg), round(pct(dkg, .50)), round(dkg[0]), round(dkg[len(dkg)-1]))
		fmt.Printf("%s  signing latency, approved to verified signature stored (%d sequential transfers): p50 %s  p99 %s\n",
			set, len(lat), round(pct(lat, .50)), round(pct(lat, .99)))
		fmt.Printf("%s    the approving vote as the client sees it (vote, execution, answer): p50 %s\n", set, round(pct(callLat, .50)))
		fmt.Printf("%s    phases at the coordinator, medians: vote transaction %s; then waiting for round 1 %s, round 2 at the guardians %s, aggregation and verification %s, signature write %s\n",
			set, round(phaseMedian(seqSigned, "vote")), round(phaseMedian(seqSigned, "round1-wait")), round(phaseMedian(seqSigned, "round2")),
			round(phaseMedian(seqSigned, "aggregate")), round(phaseMedian(seqSigned, "store")))
		fmt.Printf("%s    in-process FROST, no network (t Commit, t Sign, aggregation, verification): bytemare/frost alone as its documentation runs it %s; through Custos's frost package as the coordinator runs it %s; loopback round trip to %d guardians: median %s\n",
			set, round(alone), round(inproc), set.t, round(rtt))
		fmt.Printf("%s    p50 / (in-process + one round trip) = %.2f against bytemare/frost alone, %.2f against Custos's frost package\n", set,
			float64(pct(lat, .50))/float64(alone+rtt), float64(pct(lat, .50))/float64(inproc+rtt))
		if set.t == 2 && set.n == 3 {
			for _, c := range o.concurrency {
				n, el, lat, err := sys.throughput(ctx, walletID, groupKey, c, o.duration)
				if err != nil {
					return fmt.Errorf("%s throughput: %w", set, err)
				}
				fmt.Printf("%s  throughput, %d concurrent clients each submitting and approving transfers: %d signed in %s = %.0f signatures/s (approved to stored p50 %s, p99 %s)\n",
					set, c, n, el.Round(time.Millisecond), float64(n)/el.Seconds(), round(pct(lat, .50)), round(pct(lat, .99)))
			}
			for _, c := range o.concurrency {
				count := max(100, int(o.duration.Seconds()*100))
				el, lat, err := sys.approvalThroughput(ctx, walletID, groupKey, c, count)
				if err != nil {
					return fmt.Errorf("%s approval throughput: %w", set, err)
				}
				fmt.Printf("%s  throughput, %d concurrent clients approving %d submitted transfers: %s = %.0f signatures/s (approved to stored p50 %s, p99 %s)\n",
					set, c, count, el.Round(time.Millisecond), float64(count)/el.Seconds(), round(pct(lat, .50)), round(pct(lat, .99)))
			}
		}
	}
	return nil
}

func connectFROST(dir, base string, guardians int) (*frostSystem, error) {
	var creds struct {
		APIKey string `json:"api_key"`
		Users  []struct {
			Name, Role, Password string
			ApprovalKeyFile      string `json:"approval_key_file"`
		}
		Wallets []struct{ ID, Name string }
	}
	// custos dev writes the FROST wallet into the credentials once its
	// guardians are enrolled and running.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		data, err := os.ReadFile(filepath.Join(dir, "credentials.json"))
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(data, &creds); err != nil {
			return nil, err
		}
		if slices.ContainsFunc(creds.Wallets, func(w struct{ ID, Name string }) bool { return w.Name == "treasury-frost" }) {
			break
		}
		if time.Now().After(deadline) {
			return nil, errors.New("custos dev did not set up its guardians within 3 minutes")
		}
		time.Sleep(200 * time.Millisecond)
	}
	ctx := context.Background()
	sys := &frostSystem{base: base, api: client.New(base, creds.APIKey), endpoints: map[string]string{}}
	login := func(name string) (*client.Client, ed25519.PrivateKey, error) {
		for _, u := range creds.Users {
			if u.Name != name {
				continue
			}
			cl := client.New(base, "")
			// Logins are rate limited per client address (custos dev
			// signs in too while it sets up its guardians): wait.
			for attempt := 1; ; attempt++ {
				err := cl.Login(ctx, u.Name, u.Password)
				var ce *client.Error
				if err == nil {
					break
				}
				if !errors.As(err, &ce) || ce.Status != http.StatusTooManyRequests || attempt == 30 {
					return nil, nil, err
				}
				time.Sleep(time.Second)
			}
			if u.ApprovalKeyFile == "" {
				return cl, nil, nil
			}
			k, err := keyfile.ReadEd25519(u.ApprovalKeyFile)
			return cl, k, err
		}
		return nil, nil, fmt.Errorf("no demo user %s", name)
	}
	var err error
	if sys.admin, _, err = login("ada"); err != nil {
		return nil, err
	}
	if sys.auditor, _, err = login("aude"); err != nil {
		return nil, err
	}
	for _, name := range []string{"tess", "alice", "bob"} {
		cl, k, err := login(name)
		if err != nil {
			return nil, err
		}
		sys.approvers = append(sys.approvers, approver{cl, k})
	}
	var list struct {
		Guardians []struct{ Name, Endpoint string } `json:"guardians"`
	}
	if _, _, err := sys.admin.Do(ctx, http.MethodGet, "/v1/guardians", nil, &list); err != nil {
		return nil, err
	}
	for _, g := range list.Guardians {
		sys.endpoints[g.Name] = g.Endpoint
	}
	for i := 1; i <= guardians; i++ {
		sys.guardians = append(sys.guardians, "g"+strconv.Itoa(i))
	}
	return sys, nil
}

// loadPolicy replaces the demo policy's velocity and volume limits (30
// transfers an hour) with ones a load test cannot reach, through an
// approved policy.change, and waits until every guardian holds the new
// governance state (they refuse certificates under any other policy).
func (sys *frostSystem) loadPolicy(ctx context.Context) error {
	var cur struct {
		Document map[string]json.RawMessage `json:"document"`
	}
	if _, _, err := sys.admin.Do(ctx, http.MethodGet, "/v1/policy", nil, &cur); err != nil {
		return err
	}
	cur.Document["spending"] = json.RawMessage(`{"*": {"per_transaction_eur": "100000", "daily_eur": "1000000000",
		"weekly_eur": "1000000000", "monthly_eur": "1000000000", "max_per_hour": 1000000, "max_per_day": 1000000}}`)
	var filed struct {
		Request client.ApprovalRequest `json:"request"`
	}
	if _, _, err := sys.admin.Do(ctx, http.MethodPost, "/v1/policy", map[string]any{"document": cur.Document}, &filed); err != nil {
		return err
	}
	for _, a := range sys.approvers[:2] {
		if _, _, err := a.approve(ctx, &filed.Request); err != nil {
			return err
		}
	}
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		var list struct {
			Guardians []struct {
				InSync bool `json:"governance_in_sync"`
			} `json:"guardians"`
		}
		if _, _, err := sys.admin.Do(ctx, http.MethodGet, "/v1/guardians", nil, &list); err != nil {
			return err
		}
		inSync := len(list.Guardians) > 0
		for _, g := range list.Guardians {
			inSync = inSync && g.InSync
		}
		if inSync {
			return nil
		}
	}
	return errors.New("the guardians did not take the new policy within a minute")
}

// approve signs an approval of r with a's key and sends it. It returns
// the request after the vote and the phases of the call the coordinator
// reported in its Server-Timing header.
func (a approver) approve(ctx context.Context, r *client.ApprovalRequest) (*client.ApprovalRequest, map[string]time.Duration, error) {
	b, err := r.Binding()
	if err != nil {
		return nil, nil, err
	}
	msg := approvals.Message(b, approvals.Approve)
	var out client.ApprovalRequest
	_, h, err := a.cl.Do(ctx, http.MethodPost, client.Path("requests", r.ID, "votes"),
		map[string]string{"decision": "approve", "signature": base64.StdEncoding.EncodeToString(ed25519.Sign(a.key, msg))}, &out)
	if err != nil {
		return nil, nil, err
	}
	return &out, timing.Parse(h.Get("Server-Timing")), nil
}

// createWallet runs one key ceremony for set and returns the wallet, its
// group key and the wall time from the approval that starts the ceremony
// to the wallet seen active.
func (sys *frostSystem) createWallet(ctx context.Context, set thresholdSet, run int) (string, string, time.Duration, error) {
	name := fmt.Sprintf("load-%d-of-%d-%d-%d", set.t, set.n, run, time.Now().UnixNano())
	var filed struct {
		Request client.ApprovalRequest `json:"request"`
	}
	_, _, err := sys.admin.Do(ctx, http.MethodPost, "/v1/wallets", map[string]any{"name": name, "mode": "frost",
		"curve": "ed25519", "threshold": set.t, "guardians": sys.guardians[:set.n]}, &filed)
	if err != nil {
		return "", "", 0, err
	}
	// wallet.create needs two approvals, one by a treasury manager.
	if _, _, err := sys.approvers[1].approve(ctx, &filed.Request); err != nil {
		return "", "", 0, err
	}
	start := time.Now()
	if _, _, err := sys.approvers[0].approve(ctx, &filed.Request); err != nil {
		return "", "", 0, err
	}
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		var list struct {
			Wallets []struct {
				ID, Name, Status string
				PublicKey        string `json:"public_key"`
			} `json:"wallets"`
		}
		if _, _, err := sys.admin.Do(ctx, http.MethodGet, "/v1/wallets", nil, &list); err != nil {
			return "", "", 0, err
		}
		for _, w := range list.Wallets {
			if w.Name != name {
				continue
			}
			switch w.Status {
			case "active":
				return w.ID, w.PublicKey, time.Since(start), nil
			case "failed":
				return "", "", 0, fmt.Errorf("wallet %s: the key ceremony failed", w.ID)
			}
		}
	}
	return "", "", 0, fmt.Errorf("wallet %s not active after a minute", name)
}

// signing is one transfer signed after its approval: the approving call
// as the client saw it, and the phases the coordinator reported for it.
type signing struct {
	txID   string
	call   time.Duration
	phases map[string]time.Duration
}

// stored is the time from "approved" (the commit of the approving vote)
// to the commit of the verified signature's write.
func (s signing) stored() time.Duration { return s.phases["approved-to-stored"] }

// transfer submits a transfer of 2 SOL (EUR 300: one approval under the
// default policy, so guardians check a real certificate) and approves it.
func (sys *frostSystem) transfer(ctx context.Context, walletID string, seq int64, a approver) (signing, error) {
	id, r, err := sys.submit(ctx, walletID, seq, a)
	if err != nil {
		return signing{}, err
	}
	return a.approveExecuted(ctx, id, r)
}

// submit submits a transfer of 2 SOL and reads its request as a sees it.
func (sys *frostSystem) submit(ctx context.Context, walletID string, seq int64, a approver) (string, *client.ApprovalRequest, error) {
	var tx struct {
		ID        string          `json:"id"`
		Status    string          `json:"status"`
		RequestID string          `json:"request_id"`
		Decision  json.RawMessage `json:"decision"`
	}
	_, _, err := sys.api.Do(ctx, http.MethodPost, "/v1/transactions", map[string]string{"wallet_id": walletID, "chain": "message",
		"asset": "sol", "to": fmt.Sprintf("load-%d", seq), "amount": "2000000000", "memo": "load"}, &tx,
		"Idempotency-Key", fmt.Sprintf("frost-load-%d-%d", time.Now().UnixNano(), seq))
	if err != nil {
		return "", nil, fmt.Errorf("submitting: %w", err)
	}
	if tx.Status != "pending_approval" {
		return "", nil, fmt.Errorf("transaction %s is %s, want pending_approval: %s", tx.ID, tx.Status, tx.Decision)
	}
	var r client.ApprovalRequest
	if _, _, err := a.cl.Do(ctx, http.MethodGet, client.Path("requests", tx.RequestID), nil, &r); err != nil {
		return "", nil, fmt.Errorf("transaction %s: reading request %q: %w", tx.ID, tx.RequestID, err)
	}
	return tx.ID, &r, nil
}

// approveExecuted approves r, whose approval executes it.
func (a approver) approveExecuted(ctx context.Context, txID string, r *client.ApprovalRequest) (signing, error) {
	start := time.Now()
	after, phases, err := a.approve(ctx, r)
	took := time.Since(start)
	if err != nil {
		return signing{}, err
	}
	if after.Status != "executed" {
		return signing{}, fmt.Errorf("transaction %s: request %s is %s after its approval, want executed", txID, r.ID, after.Status)
	}
	if _, ok := phases["approved-to-stored"]; !ok {
		return signing{}, fmt.Errorf("transaction %s: the approving call reported no approved-to-stored time", txID)
	}
	return signing{txID, took, phases}, nil
}

// approvalThroughput submits count transfers (not measured), then has
// conc clients approve them, each approval executing its transfer, and
// counts the signatures per second of that phase: the signing pipeline
// from the vote on, without the submissions.
func (sys *frostSystem) approvalThroughput(ctx context.Context, walletID, groupKey string, conc, count int) (time.Duration, []time.Duration, error) {
	type pending struct {
		id string
		r  *client.ApprovalRequest
		a  approver
	}
	from, err := sys.auditHead(ctx)
	if err != nil {
		return 0, nil, err
	}
	work := make(chan pending, count)
	ids := map[string]bool{}
	for i := range count {
		a := sys.approvers[1+i%2]
		id, r, err := sys.submit(ctx, walletID, 2_000_000+int64(i), a)
		if err != nil {
			return 0, nil, err
		}
		ids[id] = true
		work <- pending{id, r, a}
	}
	close(work)
	time.Sleep(time.Second) // round 1 of the last submissions
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	var done []signing
	start := time.Now()
	for range conc {
		wg.Go(func() {
			for p := range work {
				sg, err := p.a.approveExecuted(ctx, p.id, p.r)
				mu.Lock()
				first = cmp.Or(first, err)
				done = append(done, sg)
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if first != nil {
		return 0, nil, first
	}
	if err := sys.checkSigned(ctx, from, ids, groupKey); err != nil {
		return 0, nil, err
	}
	return elapsed, storedTimes(done), nil
}

// sequentialSigning signs count transfers one after the other.
func (sys *frostSystem) sequentialSigning(ctx context.Context, walletID, groupKey string, count int) ([]signing, error) {
	from, err := sys.auditHead(ctx)
	if err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	var out []signing
	for i := 0; i < count+5; i++ {
		sg, err := sys.transfer(ctx, walletID, int64(i), sys.approvers[1])
		if err != nil {
			return nil, err
		}
		if i >= 5 { // the first few warm the connections and pools
			ids[sg.txID] = true
			out = append(out, sg)
		}
	}
	return out, sys.checkSigned(ctx, from, ids, groupKey)
}

// storedTimes returns the approved-to-stored times of ss, sorted.
func storedTimes(ss []signing) []time.Duration {
	out := make([]time.Duration, len(ss))
	for i, sg := range ss {
		out[i] = sg.stored()
	}
	slices.Sort(out)
	return out
}

// phaseMedian is the median of phase name over ss (0 where a call did not
// report it).
func phaseMedian(ss []signing, name string) time.Duration {
	d := make([]time.Duration, len(ss))
	for i, sg := range ss {
		d[i] = sg.phases[name]
	}
	slices.Sort(d)
	return pct(d, .50)
}

// throughput runs conc clients for d, each submitting and approving
// transfers on walletID, and counts the transfers signed. It returns the
// approved-to-stored times of those transfers too.
func (sys *frostSystem) throughput(ctx context.Context, walletID, groupKey string, conc int, d time.Duration) (int, time.Duration, []time.Duration, error) {
	var (
		seq   atomic.Int64
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		ids   = map[string]bool{}
		done  []signing
	)
	from, err := sys.auditHead(ctx)
	if err != nil {
		return 0, 0, nil, err
	}
	stop := time.Now().Add(d)
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			a := sys.approvers[1+w%2] // alice and bob
			for time.Now().Before(stop) {
				sg, err := sys.transfer(ctx, walletID, 1_000_000+seq.Add(1), a)
				mu.Lock()
				if err == nil {
					ids[sg.txID] = true
					done = append(done, sg)
				} else if first == nil {
					first = err
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	if first != nil {
		return 0, 0, nil, first
	}
	if err := sys.checkSigned(ctx, from, ids, groupKey); err != nil {
		return 0, 0, nil, err
	}
	return len(done), elapsed, storedTimes(done), nil
}

func (sys *frostSystem) auditHead(ctx context.Context) (int64, error) {
	var head int64
	for {
		evs, err := sys.auditPage(ctx, head)
		if err != nil || len(evs) == 0 {
			return head, err
		}
		head = evs[len(evs)-1].Seq
	}
}

type auditEvent struct {
	Seq      int64             `json:"seq"`
	Action   string            `json:"action"`
	Target   string            `json:"target"`
	Result   string            `json:"result"`
	Metadata map[string]string `json:"metadata"`
}

func (sys *frostSystem) auditPage(ctx context.Context, after int64) ([]auditEvent, error) {
	var page struct {
		Events []auditEvent `json:"events"`
	}
	q := url.Values{"after": {strconv.FormatInt(after, 10)}, "limit": {"1000"}}
	_, _, err := sys.auditor.Do(ctx, http.MethodGet, "/v1/audit/events?"+q.Encode(), nil, &page)
	return page.Events, err
}

// checkSigned checks in the audit log that each transaction in ids was
// signed, in FROST mode, under groupKey.
func (sys *frostSystem) checkSigned(ctx context.Context, after int64, ids map[string]bool, groupKey string) error {
	signed := 0
	for {
		evs, err := sys.auditPage(ctx, after)
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			break
		}
		for _, e := range evs {
			after = e.Seq
			id, ok := strings.CutPrefix(e.Target, "transaction:")
			if e.Action != "transaction.sign" || !ok || !ids[id] || e.Result != "success" {
				continue
			}
			if e.Metadata["public_key"] != groupKey || e.Metadata["mode"] != "frost" {
				return fmt.Errorf("transaction %s was signed under %s (%s), not the FROST wallet's %s", id,
					e.Metadata["public_key"], e.Metadata["mode"], groupKey)
			}
			signed++
		}
	}
	if signed != len(ids) {
		return fmt.Errorf("%d of %d transfers have a signing event", signed, len(ids))
	}
	return nil
}

// loopbackRTT is the median time of t concurrent GET /healthz to
// t guardians over warm connections.
func (sys *frostSystem) loopbackRTT(ctx context.Context, t, rounds int) (time.Duration, error) {
	cl := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}, Timeout: 10 * time.Second}
	get := func(u string) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u+"/healthz", nil)
		resp, err := cl.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		return resp.Body.Close()
	}
	var times []time.Duration
	for i := 0; i < rounds+20; i++ {
		var wg sync.WaitGroup
		errs := make([]error, t)
		start := time.Now()
		for j := 0; j < t; j++ {
			wg.Add(1)
			go func(j int) { defer wg.Done(); errs[j] = get(sys.endpoints[sys.guardians[j]]) }(j)
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return 0, err
		}
		if i >= 20 {
			times = append(times, time.Since(start))
		}
	}
	slices.Sort(times)
	return pct(times, .50), nil
}

// inProcessFROST is the median cost of one whole FROST(Ed25519) signing in
// this process through the frost package (bytemare/frost underneath): t
// commitments, t shares one after the other, aggregation and
// verification. It is the reference point; the real path has the
// commitments precomputed and the t shares made in parallel processes,
// so for larger t the reference is generous.
func inProcessFROST(set thresholdSet, rounds int) (time.Duration, error) {
	ks, err := frost.TrustedDealerKeys(frost.Ed25519, uint16(set.t), uint16(set.n))
	if err != nil {
		return 0, err
	}
	signers := make([]*frost.Signer, set.t)
	for i := range signers {
		if signers[i], err = frost.NewSigner(ks[i]); err != nil {
			return 0, err
		}
		defer signers[i].Close()
	}
	agg, err := frost.NewAggregator(&ks[0].Group)
	if err != nil {
		return 0, err
	}
	msg := []byte("in-process reference")
	var times []time.Duration
	for i := 0; i < rounds; i++ {
		start := time.Now()
		list := make([]frost.Commitment, set.t)
		for j, s := range signers {
			if list[j], err = s.Commit(); err != nil {
				return 0, err
			}
		}
		shares := map[uint16][]byte{}
		for _, s := range signers {
			if shares[s.ID()], err = s.Sign(msg, list); err != nil {
				return 0, err
			}
		}
		if _, err := agg.Aggregate(msg, list, shares); err != nil {
			return 0, err
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	return pct(times, .50), nil
}

// bytemareFROST is the median cost of the same signing with bytemare/frost
// alone, the reference point, run as bytemare's documentation runs
// it: keys from its trusted dealer, t Commit, t Sign,
// AggregateSignatures with the shares verified, then VerifySignature.
func bytemareFROST(set thresholdSet, rounds int) (time.Duration, error) {
	cs := bm.Ed25519
	secrets, vk, _ := debug.TrustedDealerKeygen(cs, nil, uint16(set.t), uint16(set.n))
	pub := make([]*keys.PublicKeyShare, len(secrets))
	for i, sk := range secrets {
		pub[i] = sk.PublicKeyShare()
	}
	conf := &bm.Configuration{Ciphersuite: cs, Threshold: uint16(set.t), MaxSigners: uint16(set.n),
		VerificationKey: vk, SignerPublicKeyShares: pub}
	if err := conf.Init(); err != nil {
		return 0, err
	}
	signers := make([]*bm.Signer, set.t)
	for i, sk := range secrets[:set.t] {
		s, err := conf.Signer(sk)
		if err != nil {
			return 0, err
		}
		signers[i] = s
	}
	msg := []byte("in-process reference")
	var times []time.Duration
	for i := 0; i < rounds; i++ {
		start := time.Now()
		list := make(bm.CommitmentList, set.t)
		for j, s := range signers {
			list[j] = s.Commit()
		}
		list.Sort()
		shares := make([]*bm.SignatureShare, set.t)
		for j, s := range signers {
			var err error
			if shares[j], err = s.Sign(msg, list); err != nil {
				return 0, err
			}
		}
		sig, err := conf.AggregateSignatures(msg, shares, list, true)
		if err != nil {
			return 0, err
		}
		if err := bm.VerifySignature(cs, msg, sig, vk); err != nil {
			return 0, err
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	return pct(times, .50), nil
}

func pct(d []time.Duration, p float64) time.Duration {
	return d[min(len(d)-1, int(p*float64(len(d))))]
}
