package postgres_test

import (
	"testing"

	"github.com/custos-dev/custos/store/storetest"
)

func BenchmarkSpendSince(b *testing.B) {
	for _, n := range []struct {
		name    string
		entries int
	}{{"entries_100", 100}, {"entries_10k", 10000}} {
		b.Run(n.name, func(b *testing.B) {
			storetest.BenchSpendSince(b, open(b, freshSchema(b)), n.entries)
		})
	}
}

func BenchmarkAppendAudit(b *testing.B) {
	storetest.BenchAppendAudit(b, open(b, freshSchema(b)))
}

func BenchmarkSubmitTransfer(b *testing.B) {
	storetest.BenchSubmitTransfer(b, open(b, freshSchema(b)))
}
