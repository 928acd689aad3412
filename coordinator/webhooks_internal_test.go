package coordinator

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestClassifyAddr(t *testing.T) {
	for _, tc := range []struct {
		addr string
		want addrKind
	}{
		{"8.8.8.8", addrPublic},
		{"2606:4700:4700::1111", addrPublic},
		{"127.0.0.1", addrPrivate},
		{"127.255.0.9", addrPrivate},
		{"::1", addrPrivate},
		{"::ffff:127.0.0.1", addrPrivate},
		{"10.0.0.1", addrPrivate},
		{"172.16.5.4", addrPrivate},
		{"192.168.0.1", addrPrivate},
		{"100.64.0.1", addrPrivate},
		{"fd00::1", addrPrivate},
		{"169.254.169.254", addrForbidden},
		{"::ffff:169.254.169.254", addrForbidden},
		{"fe80::1%eth0", addrForbidden},
		{"0.0.0.0", addrForbidden},
		{"0.1.2.3", addrForbidden},
		{"::", addrForbidden},
		{"224.0.0.1", addrForbidden},
		{"ff02::1", addrForbidden},
		{"255.255.255.255", addrForbidden},
		{"240.0.0.1", addrForbidden},
		{"192.0.2.7", addrForbidden},
		{"198.18.0.1", addrForbidden},
		{"64:ff9b::a00:1", addrForbidden},  // NAT64 of 10.0.0.1
		{"2002:a00:1::1", addrForbidden},   // 6to4 of 10.0.0.1
		{"2001:0:a00:1::1", addrForbidden}, // Teredo
		{"::10.0.0.1", addrForbidden},      // IPv4-compatible
		{"2001:db8::1", addrForbidden},
	} {
		if got := classifyAddr(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("classifyAddr(%s) = %s, want %s", tc.addr, got, tc.want)
		}
	}
}

func TestWebhookBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 5: 16 * time.Second,
		10: 512 * time.Second, 11: 10 * time.Minute, 64: 10 * time.Minute, 1 << 30: 10 * time.Minute} {
		if got := webhookBackoff(n); got != want {
			t.Errorf("webhookBackoff(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestSubscribed(t *testing.T) {
	events := []string{"transaction.*", "emergency_stop.*"}
	for action, want := range map[string]bool{"transaction.sign": true, "transaction.submit": true, "emergency_stop.on": true,
		"transactions.x": false, "request.approved": false, "webhook.create": false, "transaction": false} {
		if got := subscribed(events, action); got != want {
			t.Errorf("subscribed(%q) = %v, want %v", action, got, want)
		}
	}
}

func TestWebhookSecretRedacted(t *testing.T) {
	s := WebhookSecret{s: "cwh_the-secret-itself"}
	text, _ := s.MarshalText()
	js, _ := json.Marshal(map[string]any{"s": s})
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q", s, s, s, s, s), fmt.Sprintf("%#v", struct{ S WebhookSecret }{s}),
		string(text), string(js), s.LogValue().String()} {
		if strings.Contains(out, "the-secret-itself") {
			t.Errorf("the secret shows: %s", out)
		}
	}
	if s.Reveal() != "cwh_the-secret-itself" {
		t.Fatal("Reveal does not give the secret")
	}
}
