package sqlite_test

import (
	"testing"

	"github.com/custos-dev/custos/store/sqlite"
	"github.com/custos-dev/custos/store/storetest"
)

func BenchmarkSpendSince(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmtEntries(n), func(b *testing.B) {
			s, _ := openTemp(b)
			storetest.BenchSpendSince(b, s, n)
		})
	}
}

func BenchmarkAppendAudit(b *testing.B) {
	for _, sync := range syncModes {
		b.Run(sync.name, func(b *testing.B) {
			s, _ := openTemp(b, sync.opts...)
			storetest.BenchAppendAudit(b, s)
		})
	}
}

func BenchmarkSubmitTransfer(b *testing.B) {
	for _, sync := range syncModes {
		b.Run(sync.name, func(b *testing.B) {
			s, _ := openTemp(b, sync.opts...)
			storetest.BenchSubmitTransfer(b, s)
		})
	}
}

var syncModes = []struct {
	name string
	opts []sqlite.Option
}{
	{"sync_full", nil},
	{"sync_normal", []sqlite.Option{sqlite.WithSynchronousNormal()}},
}

func fmtEntries(n int) string {
	if n >= 1000 {
		return "entries_" + itoa(n/1000) + "k"
	}
	return "entries_" + itoa(n)
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
