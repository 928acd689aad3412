package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"maps"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/custos-dev/custos/approvals"
	"github.com/custos-dev/custos/approvals/policy"
	"github.com/custos-dev/custos/approvals/proof"
	"github.com/custos-dev/custos/coordinator"
	"github.com/custos-dev/custos/guardian/wire"
)

// The tests in this file keep openapi.json honest. They read the embedded
// document (what GET /v1/openapi.json serves) and compare it with the
// package's own source: the routes registered in server.go (parsed with
// go/parser, so no coordinator.Service is needed), the bodies the handlers
// decode and the maps they answer with, the Go types the views marshal, and
// the string constants behind every documented enum. Adding a route, a
// field or a status without documenting it fails here, and so does
// documenting what is not served.

// ---- the document ----

type oaObject = map[string]any

var oaMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func loadOpenAPI(t *testing.T) oaObject {
	t.Helper()
	if err := oaCheckDuplicateKeys(openAPI); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	var doc oaObject
	dec := json.NewDecoder(bytes.NewReader(openAPI))
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("openapi.json: data after the document")
	}
	return doc
}

// oaCheckDuplicateKeys refuses an object with a key twice: encoding/json
// keeps the last one silently, which would hide a path or an operation.
func oaCheckDuplicateKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	var walk func() error
	walk = func() error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				key := k.(string)
				if seen[key] {
					return fmt.Errorf("duplicate key %q", key)
				}
				seen[key] = true
				if err := walk(); err != nil {
					return fmt.Errorf("%s: %w", key, err)
				}
			}
			_, err = dec.Token()
			return err
		case json.Delim('['):
			for dec.More() {
				if err := walk(); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		}
		return nil
	}
	return walk()
}

// oaObj returns v as an object, or nil.
func oaObj(v any) oaObject { m, _ := v.(oaObject); return m }

// oaPointer resolves a local JSON pointer ("#/components/schemas/Error").
func oaPointer(doc oaObject, ref string) (any, error) {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("only local references (#/...) are used, got %q", ref)
	}
	var cur any = doc
	for _, tok := range strings.Split(rest, "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(oaObject)
		if !ok {
			return nil, fmt.Errorf("%q: %q is not inside an object", ref, tok)
		}
		if cur, ok = m[tok]; !ok {
			return nil, fmt.Errorf("%q: no %q", ref, tok)
		}
	}
	return cur, nil
}

// oaDeref follows $ref until it reaches an object without one.
func oaDeref(t *testing.T, doc oaObject, v any) oaObject {
	t.Helper()
	m := oaObj(v)
	for range 10 {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		target, err := oaPointer(doc, ref)
		if err != nil {
			t.Fatal(err)
		}
		m = oaObj(target)
	}
	t.Fatalf("reference cycle at %v", v)
	return nil
}

type oaOperation struct {
	method, path string
	op, item     oaObject
}

func (o oaOperation) key() string { return strings.ToUpper(o.method) + " " + o.path }

func oaOperations(t *testing.T, doc oaObject) []oaOperation {
	t.Helper()
	var out []oaOperation
	for _, path := range slices.Sorted(maps.Keys(oaObj(doc["paths"]))) {
		item := oaObj(oaObj(doc["paths"])[path])
		for k := range item {
			if !slices.Contains(oaMethods, k) && k != "parameters" && k != "summary" && k != "description" {
				t.Errorf("paths[%q] has unexpected key %q", path, k)
			}
		}
		for _, m := range oaMethods {
			if op := oaObj(item[m]); op != nil {
				out = append(out, oaOperation{method: m, path: path, op: op, item: item})
			}
		}
	}
	return out
}

func oaKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

func oaStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// ---- the source ----

type oaRoute struct {
	method, path string // "GET", OpenAPI path template
	auth         bool   // behind the authenticate middleware
	handler      ast.Node
	where        string
}

func (r oaRoute) key() string { return r.method + " " + r.path }

type oaSource struct {
	fset  *token.FileSet
	files map[string]*ast.File
	funcs map[string]*ast.FuncDecl // method and function declarations by name
}

// oaParseSource parses the package's non-test Go files.
func oaParseSource(t *testing.T) *oaSource {
	t.Helper()
	src := &oaSource{fset: token.NewFileSet(), files: map[string]*ast.File{}, funcs: map[string]*ast.FuncDecl{}}
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(src.fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		src.files[name] = f
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok {
				if _, dup := src.funcs[fd.Name.Name]; dup {
					t.Fatalf("two functions named %s: the test matches handlers by name", fd.Name.Name)
				}
				src.funcs[fd.Name.Name] = fd
			}
		}
	}
	if src.files["server.go"] == nil {
		t.Fatal("server.go not found")
	}
	return src
}

var oaEchoParam = regexp.MustCompile(`^:([A-Za-z_][A-Za-z0-9_]*)$`)

// routes collects the routes server.go registers: x := echo.New() is a
// router with prefix "", y := x.Group("/p", mw...) a group with x's prefix
// plus "/p" (behind authentication when x is, or when mw includes
// authenticate), and y.GET("/q", h) a route. Anything the test cannot
// resolve statically is an error rather than a route silently missed.
func (src *oaSource) routes(t *testing.T) []oaRoute {
	t.Helper()
	type router struct {
		prefix string
		auth   bool
	}
	routers := map[string]*router{}
	var out []oaRoute
	isAuth := func(args []ast.Expr) bool {
		for _, a := range args {
			switch a := a.(type) {
			case *ast.SelectorExpr:
				if a.Sel.Name == "authenticate" {
					return true
				}
			case *ast.Ident:
				if a.Name == "authenticate" {
					return true
				}
			}
		}
		return false
	}
	verbs := []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"}
	unsupported := []string{"Add", "Any", "Match", "Static", "File", "RouteNotFound", "Host", "Mount"}
	ast.Inspect(src.files["server.go"], func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if len(n.Lhs) != 1 || len(n.Rhs) != 1 {
				return true
			}
			id, ok1 := n.Lhs[0].(*ast.Ident)
			call, ok2 := n.Rhs[0].(*ast.CallExpr)
			if !ok1 || !ok2 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			x, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			if x.Name == "echo" && sel.Sel.Name == "New" {
				routers[id.Name] = &router{}
			} else if parent := routers[x.Name]; parent != nil && sel.Sel.Name == "Group" {
				prefix, err := oaStringLit(call.Args[0])
				if err != nil {
					t.Errorf("%s: group prefix: %v", src.fset.Position(call.Pos()), err)
					return true
				}
				routers[id.Name] = &router{prefix: parent.prefix + prefix, auth: parent.auth || isAuth(call.Args[1:])}
			}
		case *ast.CallExpr:
			sel, ok := n.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			name := sel.Sel.Name
			if !slices.Contains(verbs, name) && !slices.Contains(unsupported, name) && name != "Use" {
				return true
			}
			pos := src.fset.Position(n.Pos()).String()
			x, _ := sel.X.(*ast.Ident)
			var r *router
			if x != nil {
				r = routers[x.Name]
			}
			if r == nil {
				// Upper-case verbs are echo's; Use, Add... on something
				// that is not a router are someone else's methods.
				if slices.Contains(verbs, name) {
					t.Errorf("%s: %s on a receiver the test cannot resolve to an echo router or group", pos, name)
				}
				return true
			}
			switch {
			case name == "Use":
				// Group.Use applies to routes added afterwards; Echo.Use
				// to every route. Authentication is added per group today.
				if isAuth(n.Args) {
					t.Errorf("%s: authenticate installed with Use: teach this test how it applies", pos)
				}
			case slices.Contains(unsupported, name):
				t.Errorf("%s: %s is not understood by this test; register routes with GET, POST, PUT, PATCH, DELETE...", pos, name)
			default:
				p, err := oaStringLit(n.Args[0])
				if err != nil {
					t.Errorf("%s: route path: %v", pos, err)
					return true
				}
				segs := strings.Split(r.prefix+p, "/")
				for i, s := range segs {
					if m := oaEchoParam.FindStringSubmatch(s); m != nil {
						segs[i] = "{" + m[1] + "}"
					} else if strings.ContainsAny(s, ":*{}") {
						t.Errorf("%s: path segment %q is not understood by this test", pos, s)
					}
				}
				var h ast.Node = n.Args[1]
				switch a := n.Args[1].(type) {
				case *ast.SelectorExpr:
					if fd := src.funcs[a.Sel.Name]; fd != nil {
						h = fd
					}
				case *ast.FuncLit:
					h = a
				}
				out = append(out, oaRoute{method: name, path: strings.Join(segs, "/"), auth: r.auth || isAuth(n.Args[2:]), handler: h, where: pos})
			}
		}
		return true
	})
	if len(out) == 0 {
		t.Fatal("no routes found in server.go")
	}
	return out
}

func oaStringLit(e ast.Expr) (string, error) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", errors.New("not a string literal")
	}
	return strconv.Unquote(lit.Value)
}

// oaJSONName returns the JSON name of a struct field with tag, and whether it
// has omitempty; name "" means the field is not encoded.
func oaJSONName(goName, tag string, exported bool) (string, bool) {
	v, ok := reflect.StructTag(tag).Lookup("json")
	if v == "-" || !exported {
		return "", false
	}
	name, opts, _ := strings.Cut(v, ",")
	if !ok || name == "" {
		name = goName
	}
	return name, slices.Contains(strings.Split(opts, ","), "omitempty")
}

// oaFieldsOf returns the JSON fields of a Go struct type: name -> omitempty.
func oaFieldsOf(t *testing.T, typ reflect.Type) map[string]bool {
	t.Helper()
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	out := map[string]bool{}
	for i := range typ.NumField() {
		f := typ.Field(i)
		if f.Anonymous {
			t.Fatalf("%s: embedded field %s is not supported by this test", typ, f.Name)
		}
		if name, omit := oaJSONName(f.Name, string(f.Tag), f.IsExported()); name != "" {
			out[name] = omit
		}
	}
	return out
}

// oaASTFields is oaFieldsOf for a struct type literal in the source.
func oaASTFields(t *testing.T, st *ast.StructType) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, f := range st.Fields.List {
		if len(f.Names) == 0 {
			t.Fatalf("embedded field in a decoded struct is not supported by this test")
		}
		tag := ""
		if f.Tag != nil {
			tag, _ = strconv.Unquote(f.Tag.Value)
		}
		for _, n := range f.Names {
			if name, omit := oaJSONName(n.Name, tag, n.IsExported()); name != "" {
				out[name] = omit
			}
		}
	}
	return out
}

// oaDecodedTypes are the named types handlers decode request bodies into.
var oaDecodedTypes = map[string]reflect.Type{
	"coordinator.TransferInput": reflect.TypeFor[coordinator.TransferInput](),
	"coordinator.WalletInput":   reflect.TypeFor[coordinator.WalletInput](),
	"coordinator.APIKeyInput":   reflect.TypeFor[coordinator.APIKeyInput](),
	"coordinator.AmendInput":    reflect.TypeFor[coordinator.AmendInput](),
	"wire.EnrollRequest":        reflect.TypeFor[wire.EnrollRequest](),
	"wire.EnrollPreviewRequest": reflect.TypeFor[wire.EnrollPreviewRequest](),
}

// bodyFields finds decode(c, &v) in a handler and returns the JSON fields
// of v's type (nil, false if the handler decodes no body).
func (src *oaSource) bodyFields(t *testing.T, h ast.Node) (map[string]bool, bool) {
	t.Helper()
	vars := map[string]ast.Expr{} // local var name -> declared type
	ast.Inspect(h, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok && vs.Type != nil {
			for _, name := range vs.Names {
				vars[name.Name] = vs.Type
			}
		}
		return true
	})
	var fields map[string]bool
	found := false
	ast.Inspect(h, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		if id, ok := call.Fun.(*ast.Ident); !ok || id.Name != "decode" {
			return true
		}
		pos := src.fset.Position(call.Pos())
		if found {
			t.Errorf("%s: a second decode in one handler", pos)
		}
		found = true
		var target *ast.Ident
		if u, ok := call.Args[1].(*ast.UnaryExpr); ok && u.Op == token.AND {
			target, _ = u.X.(*ast.Ident)
		}
		if target == nil {
			t.Errorf("%s: decode target is not &localVar", pos)
			return true
		}
		switch typ := vars[target.Name].(type) {
		case *ast.StructType:
			fields = oaASTFields(t, typ)
		case *ast.SelectorExpr:
			name := typ.X.(*ast.Ident).Name + "." + typ.Sel.Name
			rt, ok := oaDecodedTypes[name]
			if !ok {
				t.Errorf("%s: handler decodes %s: add it to decodedTypes", pos, name)
				return true
			}
			fields = oaFieldsOf(t, rt)
		default:
			t.Errorf("%s: cannot find the declared type of the decode target", pos)
		}
		return true
	})
	return fields, found
}

// oaHTTPStatus maps the net/http status constants handlers use.
var oaHTTPStatus = map[string]int{
	"StatusOK": 200, "StatusCreated": 201, "StatusAccepted": 202, "StatusNoContent": 204,
	"StatusServiceUnavailable": 503,
}

// replies collects c.JSON / c.Blob / c.NoContent calls in a handler whose
// status is a net/http constant, with the body expression.
func (src *oaSource) replies(t *testing.T, h ast.Node) map[int][]ast.Expr {
	t.Helper()
	out := map[int][]ast.Expr{}
	ast.Inspect(h, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || !slices.Contains([]string{"JSON", "Blob", "NoContent"}, sel.Sel.Name) {
			return true
		}
		if x, ok := sel.X.(*ast.Ident); !ok || x.Name != "c" {
			return true
		}
		st, ok := call.Args[0].(*ast.SelectorExpr)
		if !ok || st.X.(*ast.Ident).Name != "http" {
			return true // a variable status (e.g. 200 or 201): checked by hand
		}
		code, ok := oaHTTPStatus[st.Sel.Name]
		if !ok {
			t.Errorf("%s: add http.%s to httpStatus", src.fset.Position(st.Pos()), st.Sel.Name)
			return true
		}
		var body ast.Expr
		if len(call.Args) > 1 && sel.Sel.Name == "JSON" {
			body = call.Args[1]
		}
		out[code] = append(out[code], body)
		return true
	})
	return out
}

// ---- tests ----

func TestOpenAPIDocument(t *testing.T) {
	doc := loadOpenAPI(t)
	if v, _ := doc["openapi"].(string); !regexp.MustCompile(`^3\.0\.\d+$`).MatchString(v) {
		t.Errorf("openapi = %q, want 3.0.x", v)
	}
	info := oaObj(doc["info"])
	for _, k := range []string{"title", "version", "description"} {
		if s, _ := info[k].(string); s == "" {
			t.Errorf("info.%s is empty", k)
		}
	}
	bearer := oaObj(oaObj(oaObj(doc["components"])["securitySchemes"])["bearerAuth"])
	if bearer["type"] != "http" || bearer["scheme"] != "bearer" {
		t.Errorf("components.securitySchemes.bearerAuth = %v, want type http, scheme bearer", bearer)
	}
	if sec, _ := json.Marshal(doc["security"]); string(sec) != `[{"bearerAuth":[]}]` {
		t.Errorf("top-level security = %s, want bearerAuth", sec)
	}
}

func TestOpenAPIReferences(t *testing.T) {
	doc := loadOpenAPI(t)
	used := map[string]bool{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case oaObject:
			if ref, ok := v["$ref"]; ok {
				s, _ := ref.(string)
				if _, err := oaPointer(doc, s); err != nil {
					t.Errorf("%s: %v", path, err)
				}
				used[s] = true
				if len(v) > 1 {
					t.Errorf("%s: keys beside $ref are ignored by OpenAPI 3.0: %v", path, oaKeys(v))
				}
			}
			for k, x := range v {
				walk(path+"/"+k, x)
			}
		case []any:
			for i, x := range v {
				walk(path+"/"+strconv.Itoa(i), x)
			}
		}
	}
	walk("#", doc)
	// An unreferenced component is dead documentation.
	for section, comps := range oaObj(doc["components"]) {
		if section == "securitySchemes" {
			continue
		}
		for name := range oaObj(comps) {
			if ref := "#/components/" + section + "/" + name; !used[ref] {
				t.Errorf("%s is never referenced", ref)
			}
		}
	}
}

// TestOpenAPIMatchesRoutes is the main guard: the documented operations are
// exactly the routes server.go registers, with the same authentication.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	src := oaParseSource(t)
	served := map[string]oaRoute{}
	for _, r := range src.routes(t) {
		if _, dup := served[r.key()]; dup {
			t.Errorf("%s: %s registered twice", r.where, r.key())
		}
		served[r.key()] = r
	}
	documented := map[string]oaOperation{}
	for _, o := range oaOperations(t, doc) {
		documented[o.key()] = o
	}
	for _, k := range oaKeys(served) {
		if _, ok := documented[k]; !ok {
			t.Errorf("%s is served (%s) but not documented in openapi.json", k, served[k].where)
		}
	}
	for _, k := range oaKeys(documented) {
		if _, ok := served[k]; !ok {
			t.Errorf("%s is documented in openapi.json but server.go does not register it", k)
		}
	}
	for k, r := range served {
		o, ok := documented[k]
		if !ok {
			continue
		}
		sec, ok := o.op["security"].([]any)
		if !ok {
			sec, _ = doc["security"].([]any)
		}
		if documentedAuth := len(sec) > 0; documentedAuth != r.auth {
			t.Errorf("%s: documented security %v, but authenticated = %v in server.go", k, sec, r.auth)
		}
	}
}

// TestOpenAPIRequestBodies compares each operation's request body with the
// struct its handler decodes.
func TestOpenAPIRequestBodies(t *testing.T) {
	doc := loadOpenAPI(t)
	src := oaParseSource(t)
	documented := map[string]oaOperation{}
	for _, o := range oaOperations(t, doc) {
		documented[o.key()] = o
	}
	for _, r := range src.routes(t) {
		o, ok := documented[r.key()]
		if !ok {
			continue // reported by TestOpenAPIMatchesRoutes
		}
		fields, decodes := src.bodyFields(t, r.handler)
		body := oaObj(o.op["requestBody"])
		if !decodes {
			if body != nil {
				t.Errorf("%s documents a request body, but its handler decodes none", r.key())
			}
			continue
		}
		if body == nil {
			t.Errorf("%s: the handler decodes a JSON body %v, but none is documented", r.key(), oaKeys(fields))
			continue
		}
		if body["required"] != true {
			t.Errorf("%s: requestBody.required must be true", r.key())
		}
		content := oaObj(body["content"])
		if got := oaKeys(content); !slices.Equal(got, []string{"application/json"}) {
			t.Errorf("%s: request content types %v, want only application/json", r.key(), got)
		}
		media := oaObj(content["application/json"])
		if _, ok := oaObj(media["schema"])["$ref"].(string); !ok {
			t.Errorf("%s: request schema must be a $ref to components/schemas", r.key())
		}
		schema := oaDeref(t, doc, media["schema"])
		if schema["additionalProperties"] != false {
			t.Errorf("%s: request schema must set additionalProperties: false (unknown fields are refused)", r.key())
		}
		if got, want := oaKeys(oaObj(schema["properties"])), oaKeys(fields); !slices.Equal(got, want) {
			t.Errorf("%s: request properties %v, handler decodes %v", r.key(), got, want)
		}
		for _, k := range []string{"400", "413", "415"} {
			if oaObj(o.op["responses"])[k] == nil {
				t.Errorf("%s takes a JSON body but does not document %s", r.key(), k)
			}
		}
	}
}

// TestOpenAPIReplies checks that every status a handler answers with a
// constant is documented, and that map literals it answers with have the
// documented properties.
func TestOpenAPIReplies(t *testing.T) {
	doc := loadOpenAPI(t)
	src := oaParseSource(t)
	documented := map[string]oaOperation{}
	for _, o := range oaOperations(t, doc) {
		documented[o.key()] = o
	}
	for _, r := range src.routes(t) {
		o, ok := documented[r.key()]
		if !ok {
			continue
		}
		responses := oaObj(o.op["responses"])
		for code, bodies := range src.replies(t, r.handler) {
			resp := oaObj(responses[strconv.Itoa(code)])
			if resp == nil {
				t.Errorf("%s: the handler answers %d, which is not documented", r.key(), code)
				continue
			}
			resp = oaDeref(t, doc, resp)
			for _, b := range bodies {
				lit, ok := b.(*ast.CompositeLit)
				if !ok {
					continue
				}
				schema := oaObj(oaObj(oaObj(resp["content"])["application/json"])["schema"])
				if schema == nil {
					t.Errorf("%s %d: the handler answers JSON, no application/json schema is documented", r.key(), code)
					continue
				}
				oaCheckMapLit(t, doc, fmt.Sprintf("%s %d", r.key(), code), lit, schema)
			}
		}
	}
}

// oaCheckMapLit compares the keys of a map literal with a schema's properties,
// recursively for map-literal values.
func oaCheckMapLit(t *testing.T, doc oaObject, where string, lit *ast.CompositeLit, schema any) {
	t.Helper()
	if _, ok := lit.Type.(*ast.MapType); !ok {
		return
	}
	s := oaDeref(t, doc, schema)
	props := oaObj(s["properties"])
	var keys []string
	for _, e := range lit.Elts {
		kv := e.(*ast.KeyValueExpr)
		k, err := oaStringLit(kv.Key)
		if err != nil {
			t.Errorf("%s: map key: %v", where, err)
			continue
		}
		keys = append(keys, k)
		if inner, ok := kv.Value.(*ast.CompositeLit); ok && props[k] != nil {
			oaCheckMapLit(t, doc, where+"."+k, inner, props[k])
		}
	}
	slices.Sort(keys)
	if got := oaKeys(props); !slices.Equal(got, keys) {
		t.Errorf("%s: documented properties %v, the handler answers %v", where, got, keys)
	}
	if req := s["required"]; req == nil || !slices.Equal(slices.Sorted(slices.Values(oaStrings(req))), keys) {
		t.Errorf("%s: required %v, want every key the handler always sends %v", where, req, keys)
	}
}

// TestOpenAPIOperations checks what a client generator and a reader need.
func TestOpenAPIOperations(t *testing.T) {
	doc := loadOpenAPI(t)
	ids := map[string]string{}
	param := regexp.MustCompile(`\{([^}]+)\}`)
	for _, o := range oaOperations(t, doc) {
		k := o.key()
		id, _ := o.op["operationId"].(string)
		if id == "" {
			t.Errorf("%s: no operationId", k)
		} else if prev, dup := ids[id]; dup {
			t.Errorf("%s: operationId %q also used by %s", k, id, prev)
		}
		ids[id] = k
		for _, f := range []string{"summary", "description"} {
			if s, _ := o.op[f].(string); strings.TrimSpace(s) == "" {
				t.Errorf("%s: no %s", k, f)
			}
		}
		if tags, _ := o.op["tags"].([]any); len(tags) == 0 {
			t.Errorf("%s: no tags", k)
		}
		responses := oaObj(o.op["responses"])
		success := false
		for code, r := range responses {
			if strings.HasPrefix(code, "2") {
				success = true
			}
			if d, _ := oaDeref(t, doc, r)["description"].(string); d == "" {
				t.Errorf("%s %s: response without description", k, code)
			}
		}
		if !success {
			t.Errorf("%s: no 2xx response", k)
		}
		sec, ok := o.op["security"].([]any)
		if !ok {
			sec, _ = doc["security"].([]any)
		}
		if len(sec) > 0 {
			for _, code := range []string{"401", "429", "500", "503"} {
				if responses[code] == nil {
					t.Errorf("%s is authenticated but does not document %s", k, code)
				}
			}
		}
		// Path parameters: exactly the template's, each required.
		var declared []string
		for _, list := range []any{o.item["parameters"], o.op["parameters"]} {
			ps, _ := list.([]any)
			for _, p := range ps {
				p := oaDeref(t, doc, p)
				if p["in"] == "path" {
					declared = append(declared, p["name"].(string))
					if p["required"] != true {
						t.Errorf("%s: path parameter %v must be required", k, p["name"])
					}
				}
				if p["schema"] == nil {
					t.Errorf("%s: parameter %v has no schema", k, p["name"])
				}
			}
		}
		var want []string
		for _, m := range param.FindAllStringSubmatch(o.path, -1) {
			want = append(want, m[1])
		}
		slices.Sort(declared)
		slices.Sort(want)
		if !slices.Equal(declared, want) {
			t.Errorf("%s: path parameters declared %v, template has %v", k, declared, want)
		}
	}
}

// TestOpenAPISchemas checks every object schema's required list, and that
// the schemas of the Go types the API marshals list exactly their JSON
// fields, required unless omitempty.
func TestOpenAPISchemas(t *testing.T) {
	doc := loadOpenAPI(t)
	schemas := oaObj(oaObj(doc["components"])["schemas"])
	// Schemas whose properties are all optional (OpenAPI 3.0 forbids an
	// empty required list).
	optionalOnly := map[string]bool{"PolicySpending": true, "AmendInput": true}
	for name, s := range schemas {
		s := oaObj(s)
		props := oaObj(s["properties"])
		if req, ok := s["required"]; ok {
			for _, r := range oaStrings(req) {
				if _, ok := props[r]; !ok {
					t.Errorf("schemas.%s: required %q is not a property", name, r)
				}
			}
		}
		if s["type"] == "object" && props != nil && s["required"] == nil && !optionalOnly[name] {
			t.Errorf("schemas.%s: no required list", name)
		}
	}
	for _, tc := range []struct {
		ref string
		typ reflect.Type
	}{
		{"#/components/schemas/Error", reflect.TypeFor[errorBody]()},
		{"#/components/schemas/Error/properties/error", reflect.TypeFor[errorDetail]()},
		{"#/components/schemas/Transaction", reflect.TypeFor[transactionView]()},
		{"#/components/schemas/Decision", reflect.TypeFor[decisionView]()},
		{"#/components/schemas/ApprovalRequest", reflect.TypeFor[requestView]()},
		{"#/components/schemas/Vote", reflect.TypeFor[voteView]()},
		{"#/components/schemas/Wallet", reflect.TypeFor[walletView]()},
		{"#/components/schemas/Rate", reflect.TypeFor[rateView]()},
		{"#/components/schemas/APIKey", reflect.TypeFor[apiKeyView]()},
		{"#/components/schemas/AuditEvent", reflect.TypeFor[auditView]()},
		{"#/components/schemas/Quorum", reflect.TypeFor[approvals.Quorum]()},
		{"#/components/schemas/Tally", reflect.TypeFor[approvals.Tally]()},
		{"#/components/schemas/Certificate", reflect.TypeFor[approvals.Certificate]()},
		{"#/components/schemas/CertificateApproval", reflect.TypeFor[approvals.CertificateApproval]()},
		{"#/components/schemas/Reason", reflect.TypeFor[policy.Reason]()},
		{"#/components/schemas/Counters", reflect.TypeFor[policy.Counters]()},
		{"#/components/schemas/Proof", reflect.TypeFor[proof.Proof]()},
		{"#/components/schemas/DecisionKey", reflect.TypeFor[proof.PublicKey]()},
		{"#/components/schemas/DecisionStatement", reflect.TypeFor[coordinator.Statement]()},
		{"#/components/schemas/StatementRate", reflect.TypeFor[coordinator.StatementRate]()},
		{"#/components/schemas/Guardian", reflect.TypeFor[guardianView]()},
		{"#/components/schemas/GuardianKeyStatus", reflect.TypeFor[keyStatusView]()},
		{"#/components/schemas/Ceremony", reflect.TypeFor[ceremonyView]()},
		{"#/components/schemas/CeremonyProgress", reflect.TypeFor[coordinator.CeremonyProgress]()},
		{"#/components/schemas/CeremonyStep", reflect.TypeFor[coordinator.CeremonyStep]()},
		{"#/components/schemas/EnrollRequest", reflect.TypeFor[wire.EnrollRequest]()},
		{"#/components/schemas/EnrollResponse", reflect.TypeFor[wire.EnrollResponse]()},
		{"#/components/schemas/EnrollPreviewRequest", reflect.TypeFor[wire.EnrollPreviewRequest]()},
		{"#/components/schemas/EnrollPreview", reflect.TypeFor[wire.EnrollPreview]()},
	} {
		t.Run(tc.typ.String(), func(t *testing.T) {
			v, err := oaPointer(doc, tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			s := oaObj(v)
			fields := oaFieldsOf(t, tc.typ)
			if got, want := oaKeys(oaObj(s["properties"])), oaKeys(fields); !slices.Equal(got, want) {
				t.Errorf("%s: properties %v, %s encodes %v", tc.ref, got, tc.typ, want)
			}
			var want []string
			for f, omit := range fields {
				if !omit {
					want = append(want, f)
				}
			}
			slices.Sort(want)
			var got []string
			if req, ok := s["required"]; ok {
				got = slices.Sorted(slices.Values(oaStrings(req)))
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s: required %v, want the fields without omitempty %v", tc.ref, got, want)
			}
		})
	}
}

// oaStringConsts returns the string constants of the Go package in dir whose
// type is typ (typ != "") or whose name starts with prefix.
func oaStringConsts(t *testing.T, dir, typ, prefix string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	fset := token.NewFileSet()
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				match := strings.HasPrefix(vs.Names[0].Name, prefix) && typ == ""
				if id, ok := vs.Type.(*ast.Ident); ok && typ != "" && id.Name == typ {
					match = true
				}
				if !match || len(vs.Values) != len(vs.Names) {
					continue
				}
				for _, v := range vs.Values {
					if s, err := oaStringLit(v); err == nil {
						out = append(out, s)
					}
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("no string constants (type %q, prefix %q) in %s", typ, prefix, dir)
	}
	slices.Sort(out)
	return out
}

// TestOpenAPIEnums compares documented enums with the constants they come
// from, so that a new status, role or scope cannot go undocumented.
func TestOpenAPIEnums(t *testing.T) {
	doc := loadOpenAPI(t)
	for _, tc := range []struct {
		schema, dir, typ, prefix string
	}{
		{"TransactionStatus", "../../store", "TxStatus", ""},
		{"RequestStatus", "../../store", "RequestStatus", ""},
		{"Role", "../../store", "", "Role"},
		{"WalletMode", "../../store", "", "Mode"},
		{"WalletStatus", "../../store", "WalletStatus", ""},
		{"GuardianStatus", "../../store", "GuardianStatus", ""},
		{"CeremonyState", "../../store", "CeremonyState", ""},
		{"CeremonyRound", "..", "", "Round"},
		{"Curve", "..", "", "Curve"},
		{"DecisionStage", "..", "", "Stage"},
		{"Scope", "../../internal/auth", "", "Scope"},
		{"DecisionOutcome", "../../approvals/policy", "", "Outcome"},
		{"AuditCategory", "../../audit", "", "Category"},
		{"AuditResult", "../../audit", "", "Result"},
	} {
		t.Run(tc.schema, func(t *testing.T) {
			v, err := oaPointer(doc, "#/components/schemas/"+tc.schema)
			if err != nil {
				t.Fatal(err)
			}
			raw, ok := oaObj(v)["enum"]
			if !ok {
				t.Fatalf("schemas.%s has no enum", tc.schema)
			}
			got := slices.Sorted(slices.Values(oaStrings(raw)))
			if want := oaStringConsts(t, tc.dir, tc.typ, tc.prefix); !slices.Equal(got, want) {
				t.Errorf("schemas.%s enum %v, the source defines %v", tc.schema, got, want)
			}
		})
	}
	vote := oaObj(oaObj(oaObj(oaObj(oaObj(doc["components"])["schemas"])["VoteInput"])["properties"])["decision"])
	if got := oaStrings(vote["enum"]); !slices.Equal(got, []string{approvals.Approve, approvals.Reject}) {
		t.Errorf("VoteInput.decision enum %v", got)
	}
}

// TestOpenAPIAmount pins the amount pattern to the intent package's rules.
func TestOpenAPIAmount(t *testing.T) {
	doc := loadOpenAPI(t)
	s := oaObj(oaObj(oaObj(oaObj(oaObj(doc["components"])["schemas"])["TransferInput"])["properties"])["amount"])
	re, err := regexp.Compile(s["pattern"].(string))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"1", true}, {"1500000000000000000", true}, {strings.Repeat("9", 78), true},
		{"", false}, {"0", false}, {"01", false}, {"-1", false}, {"+1", false}, {"1.5", false},
		{"1e18", false}, {" 1", false}, {strings.Repeat("9", 79), false},
	} {
		if got := re.MatchString(tc.in); got != tc.ok {
			t.Errorf("amount pattern on %q = %v, want %v", tc.in, got, tc.ok)
		}
	}
}
