package chain

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"

	"github.com/gridmint/gridmint/chain/bindings/flex"
	"github.com/gridmint/gridmint/chain/bindings/rec"
	"github.com/gridmint/gridmint/chain/bindings/registry"
)

// contractInputsHash is compile.js's inputsHash: sha256 over every *.sol
// in contracts/, solc-settings.json and package-lock.json (the pinned
// compiler and OpenZeppelin), each as "name\nlength\n" + bytes, by name.
func contractInputsHash(dir string) (string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	names := []string{"solc-settings.json", "package-lock.json"}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".sol") {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	h := sha256.New()
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\n%d\n", n, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// The committed artifacts and bindings match the Solidity sources: no npm
// needed. Fails after editing a contract without `make generate`.
func TestBindingsAreFresh(t *testing.T) {
	got, err := contractInputsHash("contracts")
	if err != nil {
		t.Fatal(err)
	}
	recorded, err := os.ReadFile(filepath.Join("contracts", "build", "inputs.sha256"))
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSpace(string(recorded)); got != want {
		t.Fatalf("contracts/*.sol, solc-settings.json or package-lock.json changed since the last `make generate` "+
			"(inputs %s, artifacts built from %s): run make generate and commit contracts/build and bindings/", got, want)
	}

	raw, err := os.ReadFile(filepath.Join("contracts", "build", "combined.json"))
	if err != nil {
		t.Fatal(err)
	}
	var combined struct {
		Contracts map[string]struct {
			ABI json.RawMessage `json:"abi"`
			Bin string          `json:"bin"`
		} `json:"contracts"`
		Version string `json:"version"`
	}
	if err := json.Unmarshal(raw, &combined); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(combined.Version, "0.8.37+") {
		t.Errorf("artifacts built by solc %s, want 0.8.37", combined.Version)
	}
	for _, tc := range []struct {
		key string
		md  *bind.MetaData
	}{
		{"AttestorRegistry.sol:AttestorRegistry", &registry.AttestorRegistryMetaData},
		{"REC.sol:REC", &rec.RECMetaData},
		{"FLEX.sol:FLEX", &flex.FLEXMetaData},
	} {
		c, ok := combined.Contracts[tc.key]
		if !ok {
			t.Errorf("%s missing from combined.json", tc.key)
			continue
		}
		if tc.md.Bin != "0x"+c.Bin {
			t.Errorf("%s: the binding's bytecode is not the artifact's: run make generate", tc.key)
		}
		var a, b any
		if err := json.Unmarshal(c.ABI, &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(tc.md.ABI), &b); err != nil {
			t.Fatal(err)
		}
		// abigen embeds the ABI with all white space removed (even in
		// internalType strings): compare the same way.
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if !bytes.Equal(stripSpace(ja), stripSpace(jb)) {
			t.Errorf("%s: the binding's ABI is not the artifact's: run make generate", tc.key)
		}
	}
}

func stripSpace(b []byte) []byte {
	return bytes.Join(bytes.Fields(b), nil)
}
