// Package timing records how long the phases of one API call took, for
// the call's Server-Timing response header (W3C Server Timing). An API
// client or load generator reads from it, for instance, the time from a
// transfer's approval to its signature being stored, measured after the
// commit of that write.
//
// A phase is added through the call's context; without a Record in the
// context, Add does nothing, so the code that records phases works the
// same outside an API call.
package timing

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Phase is one named duration of a call.
type Phase struct {
	Name string
	Dur  time.Duration
}

// Record collects the phases of one call. It is safe for concurrent use.
type Record struct {
	mu     sync.Mutex
	phases []Phase
}

type key struct{}

// With returns a context that carries a new Record, and the Record.
func With(ctx context.Context) (context.Context, *Record) {
	r := &Record{}
	return context.WithValue(ctx, key{}, r), r
}

// Add records phase name of duration d in ctx's Record, if it has one.
// Names are tokens chosen by the code (letters, digits, '-').
func Add(ctx context.Context, name string, d time.Duration) {
	r, _ := ctx.Value(key{}).(*Record)
	if r == nil {
		return
	}
	r.mu.Lock()
	r.phases = append(r.phases, Phase{name, d})
	r.mu.Unlock()
}

// Since records phase name as the time since start.
func Since(ctx context.Context, name string, start time.Time) {
	Add(ctx, name, time.Since(start))
}

// Phases returns a copy of the phases recorded so far, in order.
func (r *Record) Phases() []Phase {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Phase(nil), r.phases...)
}

// Header renders the phases as a Server-Timing header value,
// "name;dur=1.234, ..." with durations in milliseconds, or "" if none.
func (r *Record) Header() string {
	var b strings.Builder
	for i, p := range r.Phases() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.Name)
		b.WriteString(";dur=")
		b.WriteString(strconv.FormatFloat(float64(p.Dur.Microseconds())/1000, 'f', 3, 64))
	}
	return b.String()
}

// Parse reads the durations of a Server-Timing header value, by name.
// Entries without a dur parameter, or with one that is not a number, are
// left out.
func Parse(header string) map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, entry := range strings.Split(header, ",") {
		params := strings.Split(entry, ";")
		name := strings.TrimSpace(params[0])
		for _, p := range params[1:] {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || !strings.EqualFold(k, "dur") {
				continue
			}
			ms, err := strconv.ParseFloat(strings.Trim(v, `"`), 64)
			if err != nil || name == "" {
				continue
			}
			out[name] = time.Duration(ms * float64(time.Millisecond))
		}
	}
	return out
}
