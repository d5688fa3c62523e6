package adashta_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/adashta/adashta-queue/sdk/go/internal/errgen"
)

// The committed generated code is what go generate makes of proto/ now.

func TestCommittedErrorsMatchTheCatalogue(t *testing.T) {
	catalogue, err := os.ReadFile("../../proto/errors.json")
	if err != nil {
		t.Fatalf("the catalogue: %v", err)
	}
	want, err := errgen.Generate(catalogue)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("errors_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("errors_gen.go is stale: run go generate in sdk/go and commit the result")
	}
}

func TestCommittedWireCodeMatchesTheSchema(t *testing.T) {
	flatc, err := exec.LookPath("flatc")
	if err != nil {
		t.Fatal("flatc is missing: install flatbuffers-compiler (apt-get install flatbuffers-compiler) to check the generated FlatBuffers code")
	}
	dir := t.TempDir()
	if out, err := exec.Command(flatc, "--go", "--go-namespace", "wire", "-o", dir, "../../proto/mesh.fbs").CombinedOutput(); err != nil {
		t.Fatalf("flatc: %v: %s", err, out)
	}
	fresh, _ := filepath.Glob(filepath.Join(dir, "wire", "*.go"))
	committed, _ := filepath.Glob(filepath.Join("internal", "wire", "*.go"))
	if len(fresh) == 0 || len(fresh) != len(committed) {
		t.Fatalf("flatc made %d files, %d are committed: run go generate in sdk/go and commit the result", len(fresh), len(committed))
	}
	for _, path := range fresh {
		want, _ := os.ReadFile(path)
		got, err := os.ReadFile(filepath.Join("internal", "wire", filepath.Base(path)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("internal/wire/%s is stale: run go generate in sdk/go and commit the result", filepath.Base(path))
		}
	}
}
