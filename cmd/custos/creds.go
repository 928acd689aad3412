package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/custos-dev/custos/client"
	"github.com/custos-dev/custos/internal/keyfile"
)

// credentials is the file `custos dev` writes for the demo users.
type credentials struct {
	APIURL          string       `json:"api_url"`
	APIKey          string       `json:"api_key"`
	KEKFile         string       `json:"kek_file"`
	DecisionKeyFile string       `json:"decision_key_file"`
	Users           []credUser   `json:"users"`
	Wallets         []credWallet `json:"wallets"`
}

type credUser struct {
	Name            string `json:"name"`
	Role            string `json:"role"`
	Password        string `json:"password"`
	ApprovalKeyFile string `json:"approval_key_file,omitempty"`
}

type credWallet struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Curve string `json:"curve"`
}

const defaultCredentials = "data/credentials.json"

// conn holds the flags every client command shares.
type conn struct {
	credsPath string
	as        string
	code      string
	api       string
	token     string
	creds     *credentials
	cl        *client.Client // made on first use
}

func (c *conn) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.credsPath, "credentials", defaultCredentials, "credentials file written by 'custos dev'")
	fs.StringVar(&c.as, "as", "", "act as this user from the credentials file (logs in with its password); default: the API key")
	fs.StringVar(&c.code, "code", "", "with --as: the one-time code from the user's authenticator app, once they have enrolled one in the web UI")
	fs.StringVar(&c.api, "api", "", "coordinator URL (default: api_url from the credentials file)")
	fs.StringVar(&c.token, "token-file", "", "file holding an API key or session token to use instead of the credentials file")
}

// readCredentials reads the credentials file custos dev writes.
func readCredentials(path string) (*credentials, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading credentials: %w (hint: run 'make run' first, or pass --credentials)", err)
	}
	var cr credentials
	if err := json.Unmarshal(data, &cr); err != nil {
		return nil, fmt.Errorf("credentials file %s: %v", path, err)
	}
	return &cr, nil
}

// writeCredentials writes cr to path (mode 0600, atomically).
func writeCredentials(path string, cr *credentials) error {
	data, err := json.MarshalIndent(cr, "", "  ")
	if err != nil {
		return err
	}
	return keyfile.Replace(path, append(data, '\n'))
}

// user returns the entry of the user called name.
func (cr *credentials) user(name string) (*credUser, bool) {
	for i := range cr.Users {
		if cr.Users[i].Name == name {
			return &cr.Users[i], true
		}
	}
	return nil, false
}

func (c *conn) load() (*credentials, error) {
	if c.creds != nil {
		return c.creds, nil
	}
	cr, err := readCredentials(c.credsPath)
	if err != nil {
		return nil, err
	}
	c.creds = cr
	return cr, nil
}

func (c *conn) user(name string) (*credUser, error) {
	cr, err := c.load()
	if err != nil {
		return nil, err
	}
	if u, ok := cr.user(name); ok {
		return u, nil
	}
	return nil, fmt.Errorf("no user %q in %s", name, c.credsPath)
}

// call sends one API request with the command's credentials (logging in
// once, on first use) and decodes the answer into out.
func (c *conn) call(ctx context.Context, method, path string, body, out any, headers ...string) error {
	if c.cl == nil {
		cl, err := c.client(ctx)
		if err != nil {
			return err
		}
		c.cl = cl
	}
	_, _, err := c.cl.Do(ctx, method, path, body, out, headers...)
	return err
}

// baseURL is the coordinator URL: --api, or else api_url from the
// credentials file.
func (c *conn) baseURL() (string, error) {
	if c.api != "" {
		return c.api, nil
	}
	cr, err := c.load()
	if err != nil {
		return "", err
	}
	return cr.APIURL, nil
}

// client returns an authenticated API client.
func (c *conn) client(ctx context.Context) (*client.Client, error) {
	if c.token != "" {
		tok, err := os.ReadFile(c.token)
		if err != nil {
			return nil, err
		}
		if c.api == "" {
			return nil, usagef("--api is required with --token-file")
		}
		return client.New(c.api, string(trimSpace(tok))), nil
	}
	cr, err := c.load()
	if err != nil {
		return nil, err
	}
	base, err := c.baseURL()
	if err != nil {
		return nil, err
	}
	cl := client.New(base, cr.APIKey)
	if c.as != "" {
		u, err := c.user(c.as)
		if err != nil {
			return nil, err
		}
		if err := cl.Login(ctx, u.Name, u.Password, c.code); err != nil {
			var ce *client.Error
			if errors.As(err, &ce) && ce.Code == "code_required" {
				return nil, fmt.Errorf("logging in as %s: %w (pass --code with the code from the authenticator app)", u.Name, err)
			}
			return nil, fmt.Errorf("logging in as %s: %w", u.Name, err)
		}
	}
	return cl, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}
