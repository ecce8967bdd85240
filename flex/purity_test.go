package flex

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPurity keeps the package's promise (doc.go): it imports only the
// standard library and the root package, does no I/O and reads no clock,
// so that every node recomputes every decision.
func TestPurity(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	forbiddenImports := map[string]bool{
		"os": true, "io": true, "io/fs": true, "net": true, "net/http": true, "os/exec": true, "syscall": true,
		"math/rand": true, "math/rand/v2": true, "crypto/rand": true, "unsafe": true, "log": true, "log/slog": true,
	}
	clockReads := map[string]bool{"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true, "Tick": true, "NewTimer": true, "NewTicker": true, "AfterFunc": true, "LoadLocation": true}
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first := strings.SplitN(path, "/", 2)[0]
			switch {
			case path == "github.com/gridmint/gridmint":
			case strings.Contains(first, "."):
				t.Errorf("%s imports %s: flex imports only the standard library and the root package", name, path)
			case forbiddenImports[path]:
				t.Errorf("%s imports %s: flex does no I/O and draws no randomness", name, path)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == "time" && clockReads[sel.Sel.Name] {
				t.Errorf("%s calls time.%s: time is passed in", name, sel.Sel.Name)
			}
			return true
		})
	}
	if checked < 5 {
		t.Fatalf("checked %d files", checked)
	}
}
