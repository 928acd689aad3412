package webui

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// scriptString writes a script as "=a -b +c".
func scriptString(s []edit) string {
	var parts []string
	for _, e := range s {
		parts = append(parts, map[editOp]string{opEqual: "=", opInsert: "+", opDelete: "-"}[e.op]+e.text)
	}
	return strings.Join(parts, " ")
}

func TestDiffEdits(t *testing.T) {
	for _, tc := range []struct {
		name, a, b, want string
	}{
		{"ok/identical", "a b c", "a b c", "=a =b =c"},
		{"ok/both-empty", "", "", ""},
		{"ok/from-empty", "", "a b", "+a +b"},
		{"ok/to-empty", "a b", "", "-a -b"},
		{"ok/change-one", "a b c", "a x c", "=a -b +x =c"},
		{"ok/insert-middle", "a c", "a b c", "=a +b =c"},
		{"ok/delete-first", "a b c", "b c", "-a =b =c"},
		{"ok/append", "a b", "a b c", "=a =b +c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := diffEdits(strings.Fields(tc.a), strings.Fields(tc.b), diffMaxEdits)
			if !ok {
				t.Fatal("gave up")
			}
			if s := scriptString(got); s != tc.want {
				t.Fatalf("got %q, want %q", s, tc.want)
			}
		})
	}
}

// lcs is the length of a longest common subsequence, by dynamic
// programming: the reference a shortest edit script is checked against.
func lcs(a, b []string) int {
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	for i := range a {
		for j := range b {
			if a[i] == b[j] {
				cur[j+1] = prev[j] + 1
			} else {
				cur[j+1] = max(prev[j+1], cur[j])
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Every script rebuilds both texts and is as short as possible.
func TestDiffEditsShortestAndFaithful(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	random := func() []string {
		out := make([]string, r.IntN(12))
		for i := range out {
			out[i] = string(rune('a' + r.IntN(3)))
		}
		return out
	}
	for i := range 2000 {
		a, b := random(), random()
		script, ok := diffEdits(a, b, diffMaxEdits)
		if !ok {
			t.Fatalf("case %d: gave up", i)
		}
		var gotA, gotB []string
		edits := 0
		for _, e := range script {
			if e.op != opInsert {
				gotA = append(gotA, e.text)
			}
			if e.op != opDelete {
				gotB = append(gotB, e.text)
			}
			if e.op != opEqual {
				edits++
			}
		}
		if fmt.Sprint(gotA) != fmt.Sprint(a) || fmt.Sprint(gotB) != fmt.Sprint(b) {
			t.Fatalf("case %d: %q -> %q: script %q does not rebuild them", i, a, b, scriptString(script))
		}
		if want := len(a) + len(b) - 2*lcs(a, b); edits != want {
			t.Fatalf("case %d: %q -> %q: %d edits, shortest is %d", i, a, b, edits, want)
		}
	}
}

func TestDiffEditsGivesUp(t *testing.T) {
	a, b := strings.Fields("a b c d"), strings.Fields("w x y z")
	if _, ok := diffEdits(a, b, 8); !ok {
		t.Fatal("8 edits allowed, 8 needed: gave up")
	}
	if s, ok := diffEdits(a, b, 7); ok {
		t.Fatalf("7 edits allowed, 8 needed: got %q", scriptString(s))
	}
}

func numbered(prefix string, n int) string {
	var sb strings.Builder
	for i := range n {
		fmt.Fprintf(&sb, "%s%d\n", prefix, i)
	}
	return sb.String()
}

func TestLineDiff(t *testing.T) {
	t.Run("ok/context-and-gaps", func(t *testing.T) {
		before := numbered("line ", 20)
		after := strings.Replace(before, "line 10\n", "line ten\n", 1)
		d := lineDiff(before, after)
		var got []string
		for _, l := range d.Lines {
			got = append(got, l.Mark+l.Text)
		}
		want := []string{"⋯7 unchanged lines", " line 7", " line 8", " line 9", "−line 10", "+line ten",
			" line 11", " line 12", " line 13", "⋯6 unchanged lines"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("got %q\nwant %q", got, want)
		}
		if d.Added != 1 || d.Removed != 1 || d.Replaced || d.Identical {
			t.Fatalf("got %+v", d)
		}
	})
	t.Run("ok/identical", func(t *testing.T) {
		d := lineDiff("a\nb\n", "a\nb\n")
		if !d.Identical || len(d.Lines) != 1 || d.Lines[0].Kind != "gap" {
			t.Fatalf("got %+v", d)
		}
	})
	t.Run("ok/replaced-when-too-different", func(t *testing.T) {
		d := lineDiff(numbered("old ", diffMaxEdits/2+1), numbered("new ", diffMaxEdits/2+1))
		if !d.Replaced || d.Removed != diffMaxEdits/2+1 || d.Added != diffMaxEdits/2+1 {
			t.Fatalf("got Replaced=%v, -%d +%d", d.Replaced, d.Removed, d.Added)
		}
		if d.Lines[0].Kind != "del" || d.Lines[len(d.Lines)-1].Kind != "add" {
			t.Fatalf("replaced document not shown removed then added")
		}
	})
	t.Run("ok/replaced-when-too-long", func(t *testing.T) {
		before := numbered("line ", diffMaxLines/2+1)
		d := lineDiff(before, before+"one more\n")
		if !d.Replaced {
			t.Fatal("over the line limit, not shown replaced")
		}
	})
}
