// Command loadgen measures POST /v1/transactions against a running Custos
// coordinator: it starts `custos dev` on a fresh data directory (SQLite, or
// PostgreSQL with -postgres), then drives it with concurrent clients for a
// fixed time and reports latency percentiles and throughput.
//
//	go run ./cmd/loadgen -bin bin/custos -duration 20s -concurrency 4
//
// With -frost it measures FROST wallets instead, with `custos dev` running
// guardian processes: key ceremonies, signing latency and throughput (see
// runFROST).
//
//	go run ./cmd/loadgen -frost 2-3,3-5,5-7,7-10
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/custos-dev/custos/store/postgres/pgtest"
)

func main() {
	bin := flag.String("bin", "bin/custos", "custos binary")
	duration := flag.Duration("duration", 20*time.Second, "measurement time")
	warmup := flag.Duration("warmup", 3*time.Second, "warm-up time (not measured)")
	conc := flag.Int("concurrency", 4, "concurrent clients")
	pg := flag.String("postgres", "", "PostgreSQL admin DSN: measure the PostgreSQL store in a fresh database")
	amount := flag.String("amount", "1000000000000000000", "amount in wei per transfer (1 ETH = EUR 2,500: 2 approvals)")
	frostSets := flag.String("frost", "", "measure FROST instead, for these t-n sets (e.g. 2-3,3-5,5-7,7-10) with guardian processes")
	dkgRuns := flag.Int("dkg-runs", 5, "frost: key ceremonies per set")
	signs := flag.Int("signs", 200, "frost: sequential transfers per set for the latency figures")
	concs := flag.String("frost-concurrency", "4,8", "frost: concurrent clients for the 2-of-3 throughput runs")
	flag.Parse()
	if *frostSets != "" {
		sets, err := parseSets(*frostSets)
		var cs []int
		for _, f := range strings.Split(*concs, ",") {
			c, err2 := strconv.Atoi(f)
			if err2 != nil || c < 1 {
				err = errors.Join(err, fmt.Errorf("-frost-concurrency: %q", f))
			}
			cs = append(cs, c)
		}
		if err == nil {
			err = runFROST(*bin, frostOptions{sets: sets, dkgRuns: *dkgRuns, signs: *signs, duration: *duration, concurrency: cs})
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*bin, *duration, *warmup, *conc, *pg, *amount); err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
		os.Exit(1)
	}
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func run(bin string, duration, warmup time.Duration, conc int, pgDSN, amount string) error {
	dir, err := os.MkdirTemp("", "custos-loadgen-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	args := []string{"--log-level", "error", "--guardians", "0"}
	engine := "sqlite"
	if pgDSN != "" {
		engine = "postgres"
		dsn, cleanup, err := freshDatabase(pgDSN)
		if err != nil {
			return err
		}
		defer cleanup()
		f := filepath.Join(dir, "dsn")
		if err := os.WriteFile(f, []byte(dsn), 0o600); err != nil {
			return err
		}
		args = append(args, "--postgres-dsn-file", f)
	}
	base, stop, err := startDev(bin, dir, args...)
	if err != nil {
		return err
	}
	defer stop()
	var creds struct {
		APIKey  string `json:"api_key"`
		Wallets []struct{ ID, Name string }
	}
	data, err := os.ReadFile(filepath.Join(dir, "credentials.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, &creds); err != nil {
		return err
	}
	wallet := creds.Wallets[0].ID

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc * 2}, Timeout: 30 * time.Second}
	type result struct {
		lat    time.Duration
		status int
	}
	var (
		mu      sync.Mutex
		results []result
		seq     int64
	)
	ctx, cancel := context.WithTimeout(context.Background(), warmup+duration)
	defer cancel()
	measureFrom := time.Now().Add(warmup)
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for ctx.Err() == nil {
				mu.Lock()
				seq++
				n := seq
				mu.Unlock()
				body, _ := json.Marshal(map[string]string{"wallet_id": wallet, "chain": "message", "asset": "eth",
					"to": fmt.Sprintf("0xload%04d", n%1000), "amount": amount, "memo": "load"})
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/transactions", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+creds.APIKey)
				req.Header.Set("Idempotency-Key", fmt.Sprintf("load-%d-%d", w, n))
				start := time.Now()
				resp, err := client.Do(req)
				lat := time.Since(start)
				if err != nil {
					if errors.Is(ctx.Err(), context.DeadlineExceeded) {
						return
					}
					fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if start.After(measureFrom) {
					mu.Lock()
					results = append(results, result{lat, resp.StatusCode})
					mu.Unlock()
				}
			}
		}(w)
	}
	wg.Wait()
	if len(results) == 0 {
		return errors.New("no requests completed")
	}
	lats := make([]time.Duration, 0, len(results))
	statuses := map[int]int{}
	for _, r := range results {
		lats = append(lats, r.lat)
		statuses[r.status]++
	}
	slices.Sort(lats)
	fmt.Printf("POST /v1/transactions  store=%s concurrency=%d duration=%s\n", engine, conc, duration)
	fmt.Printf("  requests %d  (%.0f req/s)  statuses %v\n", len(lats), float64(len(lats))/duration.Seconds(), statuses)
	fmt.Printf("  p50 %s  p90 %s  p99 %s  max %s\n", round(pct(lats, .50)), round(pct(lats, .90)), round(pct(lats, .99)), round(lats[len(lats)-1]))
	if statuses[http.StatusCreated] != len(lats) {
		return fmt.Errorf("not every request was answered 201: %v", statuses)
	}
	return nil
}

func round(d time.Duration) string { return d.Round(10 * time.Microsecond).String() }

// startDev starts `custos dev` on dir with extra flags (the API on a free
// loopback port, no rate limit), and waits until it answers. stop ends it.
func startDev(bin, dir string, extra ...string) (base string, stop func(), err error) {
	addr, err := freePort()
	if err != nil {
		return "", nil, err
	}
	args := append([]string{"dev", "--data", dir, "--listen", addr, "--rate-limit", "1000000"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}
	base = "http://" + addr
	if err := waitReady(base, 90*time.Second); err != nil {
		stop()
		return "", nil, err
	}
	return base, stop, nil
}

func waitReady(base string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("coordinator at %s not ready after %s", base, within)
}

// freshDatabase creates a new database through the admin DSN.
func freshDatabase(admin string) (string, func(), error) {
	return pgtest.CreateDatabase(context.Background(), admin, "custos_load")
}
