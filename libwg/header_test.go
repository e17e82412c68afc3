package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

var (
	cComment     = regexp.MustCompile(`(?s)/\*.*?\*/`)
	localInclude = regexp.MustCompile(`(?m)^#include "([\w.]+)"$`)
	typedef      = regexp.MustCompile(`(?s)typedef\s+(?:struct\s*\{[^}]*\}\s*(wg_\w+)|[^;{}]*?\b(wg_\w+)\b[^;{}]*);`)
	declaration  = regexp.MustCompile(`(?m)^(?:extern\s+)?([A-Za-z_][\w\s\*]*?)\s*\b(wg[A-Z]\w*)\s*\(([^)]*)\)\s*;`)
	paramName    = regexp.MustCompile(`\s*\b\w+$`)
)

// signatures maps each wg* function declared in header text to its return
// and parameter types, with const and parameter names dropped.
func signatures(header string) map[string]string {
	header = cComment.ReplaceAllString(header, "")
	out := map[string]string{}
	for _, m := range declaration.FindAllStringSubmatch(header, -1) {
		var params []string
		for _, p := range strings.Split(m[3], ",") {
			p = normalizeType(p)
			if p != "void" && p != "" {
				p = normalizeType(paramName.ReplaceAllString(p, ""))
			}
			params = append(params, p)
		}
		out[m[2]] = normalizeType(m[1]) + " (" + strings.Join(params, ", ") + ")"
	}
	return out
}

func normalizeType(t string) string {
	t = strings.ReplaceAll(t, "const", "")
	t = strings.ReplaceAll(t, "*", " * ")
	return strings.Join(strings.Fields(t), " ")
}

func TestHeaderMatchesCgoExports(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the shared library")
	}
	dir := t.TempDir()
	args := []string{"build", "-buildmode=c-shared", "-o", filepath.Join(dir, "libwg.so")}
	if daitaCompiledIn {
		args = append(args, "-tags=daita") // the exports of the build under test
	}
	build := exec.Command("go", append(args, ".")...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	generated, err := os.ReadFile(filepath.Join(dir, "libwg.h"))
	if err != nil {
		t.Fatal(err)
	}
	written, err := os.ReadFile("libwg.h")
	if err != nil {
		t.Fatal(err)
	}
	want, got := signatures(string(written)), signatures(string(generated))
	if len(got) == 0 {
		t.Fatal("no exports found in cgo's header")
	}
	for _, name := range sortedKeys(want, got) {
		if want[name] != got[name] {
			t.Errorf("%s: libwg.h says %q, cgo exports %q", name, want[name], got[name])
		}
	}
	want, got = typedefs(withLocalIncludes(t, string(written))), typedefs(withLocalIncludes(t, string(generated)))
	if len(got) == 0 {
		t.Fatal("no wg_ types found in cgo's header")
	}
	for _, name := range sortedKeys(want, got) {
		if want[name] != got[name] {
			t.Errorf("type %s: libwg.h says %q, cgo compiles %q", name, want[name], got[name])
		}
	}
}

// withLocalIncludes replaces each #include "x.h" with the file (cgo's
// header includes the preambles' headers from this directory).
func withLocalIncludes(t *testing.T, header string) string {
	return localInclude.ReplaceAllStringFunc(header, func(line string) string {
		text, err := os.ReadFile(localInclude.FindStringSubmatch(line)[1])
		if err != nil {
			t.Fatal(err)
		}
		return string(text)
	})
}

// typedefs maps each wg_ type defined in header text to its definition,
// comments and spacing dropped.
func typedefs(header string) map[string]string {
	out := map[string]string{}
	for _, m := range typedef.FindAllStringSubmatch(cComment.ReplaceAllString(header, ""), -1) {
		out[m[1]+m[2]] = normalizeType(m[0])
	}
	return out
}

func sortedKeys(maps ...map[string]string) []string {
	seen := map[string]bool{}
	for _, m := range maps {
		for k := range m {
			seen[k] = true
		}
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestTypedefsCompareStructFields(t *testing.T) {
	a := typedefs("typedef struct {\n uint64_t packets; /* n */\n uint64_t bytes;\n} wg_count;")
	b := typedefs("typedef struct { uint64_t packets; uint64_t bytes; } wg_count;")
	c := typedefs("typedef struct { uint64_t bytes; uint64_t packets; } wg_count;")
	if a["wg_count"] == "" || a["wg_count"] != b["wg_count"] {
		t.Fatalf("%q != %q", a, b)
	}
	if a["wg_count"] == c["wg_count"] {
		t.Fatal("reordered fields compared equal")
	}
	sink := typedefs("typedef void (*wg_log_sink)(uint32_t level, const char *msg, uint64_t ctx);")
	if !strings.HasSuffix(sink["wg_log_sink"], "uint64_t ctx);") {
		t.Fatalf("function pointer typedef not found whole: %q", sink)
	}
}

func TestSignaturesNormalizeConstAndNames(t *testing.T) {
	a := signatures("int32_t wgSetConfig(int32_t handle,\n const char *settings);")
	b := signatures("extern int32_t wgSetConfig(int32_t h, char* s);")
	if a["wgSetConfig"] == "" || a["wgSetConfig"] != b["wgSetConfig"] {
		t.Fatalf("%q != %q", a, b)
	}
	c := signatures("extern int32_t wgSetConfig(int32_t h, uint8_t* s);")
	if a["wgSetConfig"] == c["wgSetConfig"] {
		t.Fatalf("different parameter types compared equal: %q", c)
	}
}
