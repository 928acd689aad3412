package webui

import "testing"

func TestSafeNext(t *testing.T) {
	for next, want := range map[string]string{
		"/requests/abc?x=1":   "/requests/abc?x=1",
		"/queue":              "/queue",
		"":                    "/queue",
		"https://evil.test/":  "/queue",
		"//evil.test/x":       "/queue",
		"/\\evil.test/x":      "/queue",
		"/\t/evil.test/x":     "/queue",
		"/%09/evil.test":      "/%09/evil.test", // stays escaped: a path on this site
		"/\n/evil.test":       "/queue",
		"\\\\evil.test":       "/queue",
		"javascript:alert(1)": "/queue",
		"/ok\x7f":             "/queue",
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}
