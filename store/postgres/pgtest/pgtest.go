// Package pgtest gives tests and load tools a fresh PostgreSQL database of
// their own. Production code never imports it.
//
// The server is named by the environment variable CUSTOS_TEST_POSTGRES
// (for example postgres://postgres@127.0.0.1:5432/test?sslmode=disable);
// when it is unset, NewDatabase skips the test with a loud message.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// EnvDSN names the environment variable holding the admin DSN.
const EnvDSN = "CUSTOS_TEST_POSTGRES"

// CreateDatabase creates a database with a random name through adminDSN
// and returns its DSN and a function that drops it.
func CreateDatabase(ctx context.Context, adminDSN, prefix string) (string, func(), error) {
	admin, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return "", nil, fmt.Errorf("pgtest: connect: %w", err)
	}
	defer admin.Close(ctx)
	b := make([]byte, 6)
	rand.Read(b)
	name := prefix + "_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("pgtest: create database: %w", err)
	}
	drop := func() {
		c, err := pgx.Connect(context.Background(), adminDSN)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}
	dsn, err := WithParam(adminDSN, "dbname", name)
	if err != nil {
		drop()
		return "", nil, err
	}
	return dsn, drop, nil
}

// NewDatabase returns the DSN of a fresh database dropped when t ends, or
// skips t when CUSTOS_TEST_POSTGRES is unset.
func NewDatabase(t testing.TB, adminDSN string) string {
	t.Helper()
	if adminDSN == "" {
		t.Skipf("!!! PostgreSQL test SKIPPED: set %s to a DSN, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable", EnvDSN)
	}
	dsn, drop, err := CreateDatabase(context.Background(), adminDSN, "custos_test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	return dsn
}

// WithParam sets a connection parameter in a URL or key=value DSN.
func WithParam(dsn, key, value string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("pgtest: parse DSN: %w", err)
		}
		if key == "dbname" {
			u.Path = "/" + value
		} else {
			q := u.Query()
			q.Set(key, value)
			u.RawQuery = q.Encode()
		}
		return u.String(), nil
	}
	return dsn + " " + key + "=" + value, nil
}
