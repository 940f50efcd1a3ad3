// Command gogen renders every conformance case with Go's own text/template
// (the reference implementation maand's templates must match) and writes the
// expected result next to each case: <name>.out with the exact output bytes,
// or <name>.err with the error class ("parse" or "render") on the first line
// and the required message fragment on the second.
//
// The fixture (dot context, KV table, read policy, functions) is the one of
// spec 05 §9 and must stay in step with tests/conformance.rs.
//
// Usage: go run main.go <cases-dir>   (standard library only, works offline)
package main

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"
)

// Context is the deploy dot context (spec 05 §2).
type Context struct {
	AllocationID   string
	Job            string
	CurrentVersion string
	NewVersion     string
	WorkerIP       string
	WorkerID       string
	Labels         []string
	BucketID       string
	UpdateSeq      int
	BucketPath     string
	JobPath        string
}

// ScrapeContext is the build-time scrape.yaml.tpl dot context (spec 05 §7).
type ScrapeContext struct {
	Job            string
	CurrentVersion string
	NewVersion     string
}

var kv = map[string]map[string]string{
	"vars/job/api":                  {"cluster_name": "prod-east", "memory": "2048", "flags": "tls,v2", "empty": ""},
	"maand/job/api/worker/10.0.0.1": {"peer_workers": "10.0.0.2"},
	"secrets/job/api":               {"db_password": "s3cret"},
	"vars/job/db":                   {"host": "db.internal"},
	"secrets/job/db":                {"password": "pw-db"},
	"vars/job/other":                {"x": "1"},
}

// Read sets of job api (upstream job db) per 04-kv.md §5.1 and §5.2.
var deployReadable = []string{
	"maand/bucket", "vars/bucket", "maand/worker", "maand/worker/10.0.0.1",
	"maand/worker/10.0.0.1/tags", "maand/job/api", "vars/bucket/job/api", "vars/job/api",
	"secrets/job/api", "maand/job/api/worker/10.0.0.1", "maand/prometheus",
	"maand/job/db", "vars/job/db", "secrets/job/db",
}
var scrapeReadable = []string{
	"maand/bucket", "vars/bucket", "maand/job/api", "vars/bucket/job/api", "vars/job/api",
	"secrets/job/api", "maand/job/db", "vars/job/db", "secrets/job/db",
}

type fixture struct {
	readable []string
	deny     string // suffix after "is not readable by job api"
}

func (f fixture) check(ns string) error {
	for _, r := range f.readable {
		if r == ns {
			return nil
		}
	}
	return fmt.Errorf("namespace %s is not readable by job api%s", ns, f.deny)
}

func (f fixture) lookup(call, ns, key string) (string, bool, error) {
	if err := f.check(ns); err != nil {
		return "", false, fmt.Errorf("%s: %v", call, err)
	}
	v, ok := kv[ns][key]
	return v, ok, nil
}

func notFound(call, ns, key string) error {
	return fmt.Errorf("%s: key not found: namespace %s, key %s", call, ns, key)
}

func checked(name string, r int64, ok bool) (int, error) {
	if !ok {
		return 0, fmt.Errorf("integer overflow in %s", name)
	}
	return int(r), nil
}

func funcs(f fixture, deploy bool) template.FuncMap {
	m := template.FuncMap{
		"get": func(ns, key string) (string, error) {
			call := fmt.Sprintf("get %q %q", ns, key)
			v, ok, err := f.lookup(call, ns, key)
			if err != nil {
				return "", err
			}
			if !ok {
				return "", notFound(call, ns, key)
			}
			return v, nil
		},
		"getSecret": func(key string) (string, error) {
			ns := "secrets/job/api"
			call := fmt.Sprintf("getSecret %q", key)
			v, ok, err := f.lookup(call, ns, key)
			if err != nil {
				return "", err
			}
			if !ok {
				return "", notFound(call, ns, key)
			}
			return v, nil
		},
		"keys": func(ns string) ([]string, error) {
			if err := f.check(ns); err != nil {
				return nil, fmt.Errorf("keys %q: %v", ns, err)
			}
			out := []string{}
			for k := range kv[ns] {
				out = append(out, k)
			}
			sort.Strings(out)
			return out, nil
		},
		"split": strings.Split,
		"trim":  strings.TrimSpace,
		"join":  func(l []string, sep string) string { return strings.Join(l, sep) },
		"upper": strings.ToUpper,
		"lower": strings.ToLower,
		"add": func(a, b int) (int, error) {
			r := int64(a) + int64(b)
			return checked("add", r, (b >= 0) == (r >= int64(a)))
		},
		"sub": func(a, b int) (int, error) {
			r := int64(a) - int64(b)
			return checked("sub", r, (b >= 0) == (r <= int64(a)))
		},
		"mul": func(a, b int) (int, error) {
			if a == 0 || b == 0 {
				return 0, nil
			}
			r := int64(a) * int64(b)
			ok := r/int64(b) == int64(a) && !(a == -1 && b == math.MinInt64) && !(b == -1 && a == math.MinInt64)
			return checked("mul", r, ok)
		},
		"div": func(a, b int) (int, error) {
			if b == 0 {
				return 0, errors.New("division by zero")
			}
			if a == math.MinInt64 && b == -1 {
				return 0, errors.New("integer overflow in div")
			}
			return a / b, nil
		},
		"min": func(a, b int) int {
			if a < b {
				return a
			}
			return b
		},
		"max": func(a, b int) int {
			if a > b {
				return a
			}
			return b
		},
		"int": func(v interface{}) (int, error) {
			switch x := v.(type) {
			case int:
				return x, nil
			case string:
				return parseInt(x)
			}
			return 0, errors.New("int: expected string or integer")
		},
	}
	if deploy {
		m["getOptional"] = func(ns, key string) (string, error) {
			v, _, err := f.lookup(fmt.Sprintf("getOptional %q %q", ns, key), ns, key)
			return v, err
		}
		m["scrapeConfigs"] = func() string { return "" }
		m["ruleFiles"] = func() string { return "rule_files:\n  - rules/maand/certs.yaml\n" }
	}
	return m
}

// parseInt implements the `int` conversion of spec 05 §4.3.
func parseInt(s string) (int, error) {
	bad := fmt.Errorf("int: invalid integer %q", s)
	t := strings.TrimSpace(s)
	digits := strings.TrimLeft(t, "+-")
	if len(t)-len(digits) > 1 || digits == "" {
		return 0, bad
	}
	var n int64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, bad
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			if strings.HasPrefix(t, "-") && n == (math.MaxInt64-d+1)/10 && (math.MaxInt64-d+1)%10 == 0 {
				n = math.MinInt64
				continue
			}
			return 0, bad
		}
		n = n*10 + d
	}
	if strings.HasPrefix(t, "-") && n != math.MinInt64 {
		n = -n
	}
	return int(n), nil
}

var (
	execPrefix  = regexp.MustCompile(`^template: [^:]*:\d+:\d+: executing "[^"]*" at <.*?>: `)
	execPrefix2 = regexp.MustCompile(`^template: [^:]*:\d+:\d+: executing "[^"]*": `)
	parsePrefix = regexp.MustCompile(`^template: [^:]*:\d+: `)
	callPrefix  = regexp.MustCompile(`^error calling \w+: `)
	// Go names the fixture's Go types; the spec names kinds (05 §3).
	kindNames = strings.NewReplacer("main.ScrapeContext", "record", "main.Context", "record",
		"[]string", "list", "float64", "float")
)

func render(name, src string) (out string, class string, msg string) {
	deploy := !strings.Contains(name, "-build-")
	var dot interface{}
	f := fixture{readable: deployReadable, deny: " on 10.0.0.1 (other jobs' namespaces need a command demand on that job)"}
	if deploy {
		dot = Context{
			AllocationID: "7f3c2a10-0000-4000-8000-000000000001", Job: "api",
			CurrentVersion: "1.0.0", NewVersion: "1.1.0", WorkerIP: "10.0.0.1", WorkerID: "w-1",
			Labels: []string{"api", "worker"}, BucketID: "bkt-1", UpdateSeq: 4,
			BucketPath: "/opt/worker/bkt-1", JobPath: "/opt/worker/bkt-1/jobs/api",
		}
	} else {
		f = fixture{readable: scrapeReadable, deny: " (other jobs' namespaces need a command demand on that job)"}
		dot = ScrapeContext{Job: "api", CurrentVersion: "1.1.0", NewVersion: "1.1.0"}
	}
	t, err := template.New(name).Funcs(funcs(f, deploy)).Parse(src)
	if err != nil {
		m := parsePrefix.ReplaceAllString(err.Error(), "")
		// Go doubles its prefix for duplicate definitions.
		m = strings.TrimPrefix(m, "template: ")
		return "", "parse", kindNames.Replace(m)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, dot); err != nil {
		m := err.Error()
		m = execPrefix.ReplaceAllString(m, "")
		m = execPrefix2.ReplaceAllString(m, "")
		m = callPrefix.ReplaceAllString(m, "")
		return "", "render", kindNames.Replace(m)
	}
	return buf.String(), "", ""
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run main.go <cases-dir>")
		os.Exit(2)
	}
	dir := os.Args[1]
	paths, err := filepath.Glob(filepath.Join(dir, "*.tpl"))
	if err != nil || len(paths) == 0 {
		fmt.Fprintln(os.Stderr, "no cases found in", dir)
		os.Exit(1)
	}
	sort.Strings(paths)
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			panic(err)
		}
		base := strings.TrimSuffix(p, ".tpl")
		out, class, msg := render(filepath.Base(p), string(src))
		os.Remove(base + ".out")
		os.Remove(base + ".err")
		if class == "" {
			err = os.WriteFile(base+".out", []byte(out), 0o644)
		} else {
			err = os.WriteFile(base+".err", []byte(class+"\n"+msg+"\n"), 0o644)
		}
		if err != nil {
			panic(err)
		}
	}
	fmt.Printf("rendered %d cases\n", len(paths))
}
