package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestConnBaseURL(t *testing.T) {
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials.json")
	if err := os.WriteFile(creds, []byte(`{"api_url":"http://127.0.0.1:8080","api_key":"ck_x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		c       conn
		want    string
		wantErr bool
	}{
		{"ok/flag", conn{api: "https://custos.example", credsPath: filepath.Join(dir, "missing.json")}, "https://custos.example", false},
		{"ok/flag-over-file", conn{api: "https://custos.example", credsPath: creds}, "https://custos.example", false},
		{"ok/file", conn{credsPath: creds}, "http://127.0.0.1:8080", false},
		{"fail/no-file", conn{credsPath: filepath.Join(dir, "missing.json")}, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.c.baseURL()
			if got != tc.want || (err != nil) != tc.wantErr {
				t.Fatalf("baseURL() = %q, %v; want %q (error %v)", got, err, tc.want, tc.wantErr)
			}
		})
	}
}
