package webui

import (
	"fmt"
	"html/template"
	"io/fs"
	"math/big"
	"path"
	"strings"
	"time"

	"github.com/custos-dev/custos/approvals/policy"
)

// parsePages parses every template under templates/ (but the layout and
// the shared partials) as a page rendered inside the layout, with the
// partials (templates/partials.html) available to all.
func parsePages() (map[string]*template.Template, error) {
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	funcs := template.FuncMap{
		"upper": strings.ToUpper,
		"eur":   func(cents int64) string { return "EUR " + policy.FormatEURCents(cents) },
		"age":   age,
	}
	out := map[string]*template.Template{}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" || name == "partials" {
			continue
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", f)
		if err != nil {
			return nil, fmt.Errorf("webui: template %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// age says how long ago t was, coarsely.
func age(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%d days ago", int(d/(24*time.Hour)))
}

// units formats an integer amount of base units in whole units of an
// asset with decimals places: ("1500000000", 9) => "1.5". An amount that
// is not an integer, or an unknown number of decimals (-1), is shown as
// it is, in base units.
func units(amount string, decimals int) string {
	v, ok := new(big.Int).SetString(amount, 10)
	if !ok || decimals < 0 || v.Sign() < 0 {
		return amount + " base units"
	}
	if decimals == 0 {
		return v.String()
	}
	s := v.String()
	if len(s) <= decimals {
		s = strings.Repeat("0", decimals-len(s)+1) + s
	}
	whole, frac := s[:len(s)-decimals], strings.TrimRight(s[len(s)-decimals:], "0")
	if frac == "" {
		return whole
	}
	return whole + "." + frac
}
