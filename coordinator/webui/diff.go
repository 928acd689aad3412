package webui

import (
	"fmt"
	"slices"
	"strings"
)

// Bounds on the work of a line diff. Beyond them the diff gives up and
// shows the whole document replaced: policy documents are small, and a
// page must not let a large one cost seconds of CPU.
const (
	diffMaxLines = 20000 // lines of both texts together
	diffMaxEdits = 500   // inserted plus deleted lines
	diffContext  = 3     // unchanged lines shown around each change
)

// editOp is what an edit does to a line.
type editOp int8

const (
	opEqual editOp = iota
	opInsert
	opDelete
)

type edit struct {
	op   editOp
	text string
}

// diffEdits returns a shortest edit script turning a into b (Myers, "An
// O(ND) Difference Algorithm and Its Variations", 1986, greedy forward
// search with the trace kept for the backtrack), or ok = false when it
// needs more than maxEdits insertions and deletions. Its cost is
// O((len(a)+len(b)) * maxEdits) time and O(maxEdits^2) memory.
func diffEdits(a, b []string, maxEdits int) (script []edit, ok bool) {
	n, m := len(a), len(b)
	limit := min(n+m, maxEdits)
	off := limit + 1
	v := make([]int, 2*limit+3) // v[off+k]: furthest x on diagonal k = x-y
	var trace [][]int           // trace[d]: v[off-d : off+d+1] before step d
	for d := 0; d <= limit; d++ {
		trace = append(trace, slices.Clone(v[off-d:off+d+1]))
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = v[off+k+1] // down: insert b[y-1]
			} else {
				x = v[off+k-1] + 1 // right: delete a[x-1]
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x, y = x+1, y+1
			}
			v[off+k] = x
			if x >= n && y >= m {
				return backtrack(a, b, trace), true
			}
		}
	}
	return nil, false
}

// backtrack walks the trace of diffEdits back from the end of both texts.
func backtrack(a, b []string, trace [][]int) []edit {
	x, y := len(a), len(b)
	var rev []edit
	for d := len(trace) - 1; d > 0; d-- {
		v := trace[d] // v[k+d] is the furthest x on diagonal k after step d-1
		k := x - y
		prevK := k - 1
		if k == -d || (k != d && v[k-1+d] < v[k+1+d]) {
			prevK = k + 1
		}
		prevX := v[prevK+d]
		prevY := prevX - prevK
		for x > prevX && y > prevY {
			x, y = x-1, y-1
			rev = append(rev, edit{opEqual, a[x]})
		}
		if prevK == k+1 {
			y--
			rev = append(rev, edit{opInsert, b[y]})
		} else {
			x--
			rev = append(rev, edit{opDelete, a[x]})
		}
		x, y = prevX, prevY
	}
	for x > 0 && y > 0 {
		x, y = x-1, y-1
		rev = append(rev, edit{opEqual, a[x]})
	}
	slices.Reverse(rev)
	return rev
}

// diffLine is one line of a diff as the page shows it: Kind is "add",
// "del", "ctx" (unchanged, for context) or "gap" (unchanged lines left
// out); Mark is the text marker, so the diff does not rely on colour.
type diffLine struct {
	Kind, Mark, Text string
}

// textDiff is a line diff of two texts, ready to show.
type textDiff struct {
	Lines          []diffLine
	Added, Removed int
	Replaced       bool // too different (or too large) to compare line by line
	Identical      bool
}

// lineDiff compares before and after line by line and keeps diffContext
// unchanged lines around each change.
func lineDiff(before, after string) textDiff {
	a, b := splitLines(before), splitLines(after)
	var script []edit
	ok := len(a)+len(b) <= diffMaxLines
	if ok {
		script, ok = diffEdits(a, b, diffMaxEdits)
	}
	var d textDiff
	if !ok {
		d.Replaced = true
		script = make([]edit, 0, len(a)+len(b))
		for _, l := range a {
			script = append(script, edit{opDelete, l})
		}
		for _, l := range b {
			script = append(script, edit{opInsert, l})
		}
	}
	d.Lines = withContext(script, diffContext)
	for _, e := range script {
		switch e.op {
		case opInsert:
			d.Added++
		case opDelete:
			d.Removed++
		}
	}
	d.Identical = d.Added == 0 && d.Removed == 0
	return d
}

// withContext turns an edit script into the lines shown: every change,
// context unchanged lines either side of it, and one gap line for each run
// of unchanged lines left out.
func withContext(script []edit, context int) []diffLine {
	// near[i]: edit i is a change or within context lines of one.
	near := make([]bool, len(script))
	for i, e := range script {
		if e.op == opEqual {
			continue
		}
		for j := max(0, i-context); j <= min(len(script)-1, i+context); j++ {
			near[j] = true
		}
	}
	var out []diffLine
	skipped := 0
	flush := func() {
		if skipped > 0 {
			out = append(out, diffLine{Kind: "gap", Mark: "⋯", Text: plural(skipped, "unchanged line")})
			skipped = 0
		}
	}
	for i, e := range script {
		if !near[i] {
			skipped++
			continue
		}
		flush()
		switch e.op {
		case opInsert:
			out = append(out, diffLine{Kind: "add", Mark: "+", Text: e.text})
		case opDelete:
			out = append(out, diffLine{Kind: "del", Mark: "−", Text: e.text})
		default:
			out = append(out, diffLine{Kind: "ctx", Mark: " ", Text: e.text})
		}
	}
	flush()
	return out
}

// splitLines splits s into lines without their line ends; a final line
// end does not make an empty last line.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
