package coordinator_test

import (
	"context"
	"testing"

	"github.com/custos-dev/custos/approvals"
)

// TestQueueCounts: the counts the UI polls agree with the queue itself,
// for the requester, an approver before and after voting, and a viewer.
func TestQueueCounts(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	mine := f.submit(f.users["carol"], f.ethW, "eth", "0x00000000000000000000000000000000000000b0", eth(6))
	f.submit(f.api, f.ethW, "eth", "0x00000000000000000000000000000000000000b1", eth(6))
	check := func(name string, wantMine int) {
		t.Helper()
		items, err := f.svc.Queue(ctx, f.users[name], 0)
		if err != nil {
			t.Fatal(err)
		}
		needs := 0
		for _, it := range items {
			if it.NeedsMe {
				needs++
			}
		}
		gotMine, gotPending, err := f.svc.QueueCounts(ctx, f.users[name])
		if err != nil {
			t.Fatal(err)
		}
		if gotMine != needs || gotPending != len(items) || needs != wantMine || len(items) != 2 {
			t.Errorf("%s: counts %d of %d, queue %d of %d, want %d of 2", name, gotMine, gotPending, needs, len(items), wantMine)
		}
	}
	check("carol", 1) // not her own request
	check("alice", 2)
	check("victor", 0) // a viewer decides nothing
	if _, err := f.vote("alice", mine.RequestID, approvals.Approve); err != nil {
		t.Fatal(err)
	}
	check("alice", 1)
}
