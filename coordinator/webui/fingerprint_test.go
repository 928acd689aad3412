package webui_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/custos-dev/custos/approvals/intent"
)

// getJSON fetches an API path with a bearer token into v.
func getJSON(t *testing.T, base, token, path string, v any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// The request page and the API (the request and its transaction) show the
// same fingerprint and the same words for it, and the words are
// intent.Words of the fingerprint: what people compare across screens
// agrees. The CLI prints intent.Words of the API's hex (cmd/custos).
func TestFingerprintWordsAgree(t *testing.T) {
	srv, svc := newServer(t)
	reqID := submitTransfer(t, svc)
	ctx := context.Background()
	token, _, _, err := svc.Login(ctx, "alice", password)
	if err != nil {
		t.Fatal(err)
	}
	alice, err := svc.Authenticate(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := svc.TransactionOfRequest(ctx, alice, reqID)
	if err != nil {
		t.Fatal(err)
	}

	b := signInThroughPages(t, srv.URL, "alice")
	resp, page := b.do(http.MethodGet, "/requests/"+reqID, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("request page: %d", resp.StatusCode)
	}
	pageHex := find(t, regexp.MustCompile(`id="fingerprint"[^>]*>([^<]*)<`), page)
	pageWords := html.UnescapeString(find(t, regexp.MustCompile(`id="fingerprint-words"[^>]*>([^<]*)<`), page))

	type fingerprinted struct {
		Fingerprint string `json:"fingerprint"`
		Words       string `json:"fingerprint_words"`
	}
	var apiReq, apiTx fingerprinted
	getJSON(t, srv.URL, token, "/v1/requests/"+reqID, &apiReq)
	getJSON(t, srv.URL, token, "/v1/transactions/"+tx.ID, &apiTx)

	fp := hex.EncodeToString(tx.Fingerprint)
	want := intent.WordString(tx.Fingerprint)
	if n := len(strings.Split(want, " ")); n != intent.WordCount {
		t.Fatalf("intent.WordString gives %d words: %q", n, want)
	}
	for _, got := range []struct {
		surface, fp, words string
	}{
		{"request page", pageHex, pageWords},
		{"GET /v1/requests/{id}", apiReq.Fingerprint, apiReq.Words},
		{"GET /v1/transactions/{id}", apiTx.Fingerprint, apiTx.Words},
	} {
		if got.fp != fp || got.words != want {
			t.Errorf("%s shows fingerprint %s as %q, want %s as %q", got.surface, got.fp, got.words, fp, want)
		}
	}
}
