package timing

import (
	"context"
	"testing"
	"time"
)

func TestRecordHeaderRoundTrip(t *testing.T) {
	ctx, rec := With(context.Background())
	Add(ctx, "round2", 1500*time.Microsecond)
	Add(ctx, "stored", 2*time.Millisecond+345*time.Microsecond)
	h := rec.Header()
	if want := "round2;dur=1.500, stored;dur=2.345"; h != want {
		t.Fatalf("header %q, want %q", h, want)
	}
	got := Parse(h)
	if got["round2"] != 1500*time.Microsecond || got["stored"] != 2345*time.Microsecond || len(got) != 2 {
		t.Fatalf("parsed %v", got)
	}
}

func TestAddWithoutRecord(t *testing.T) {
	Add(context.Background(), "nothing", time.Second) // must not panic
	_, rec := With(context.Background())
	if h := rec.Header(); h != "" {
		t.Fatalf("empty record renders %q", h)
	}
}

func TestParseSkipsMalformed(t *testing.T) {
	got := Parse(`a;dur=x, ;dur=1, b;desc="x";dur="2.5", c, d;DUR=1`)
	if len(got) != 2 || got["b"] != 2500*time.Microsecond || got["d"] != time.Millisecond {
		t.Fatalf("parsed %v", got)
	}
}
