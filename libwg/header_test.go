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
	cComment    = regexp.MustCompile(`(?s)/\*.*?\*/`)
	declaration = regexp.MustCompile(`(?m)^(?:extern\s+)?([A-Za-z_][\w\s\*]*?)\s*\b(wg[A-Z]\w*)\s*\(([^)]*)\)\s*;`)
	paramName   = regexp.MustCompile(`\s*\b\w+$`)
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
