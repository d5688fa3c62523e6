package adashta_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/adashta/adashta-queue/sdk/go"
)

// newKey makes a key pair with the CLI, as an operator does: FILE and FILE_secret.
func newKey(t *testing.T, dir, name string) (file, public string) {
	t.Helper()
	file = filepath.Join(dir, name)
	out, err := exec.Command(filepath.Join(buildDir(t), "adashta"), "keys", "new", file, "--name", name).CombinedOutput()
	if err != nil {
		t.Fatalf("adashta keys new: %v: %s", err, out)
	}
	out, err = exec.Command(filepath.Join(buildDir(t), "adashta"), "keys", "show", file).Output()
	if err != nil {
		t.Fatalf("adashta keys show: %v", err)
	}
	return file, strings.TrimSpace(string(out))
}

func TestACurveMeshAdmitsOnlyAllowedKeys(t *testing.T) {
	dir := t.TempDir()
	edgeKey, edgePublic := newKey(t, dir, "edge")
	nodeKey, nodePublic := newKey(t, dir, "node")
	strangerKey, strangerPublic := newKey(t, dir, "stranger")
	toolKey, toolPublic := newKey(t, dir, "tool")
	allow := filepath.Join(dir, "allow")
	e := &testEdge{t: t, bin: filepath.Join(buildDir(t), "adashta"), meshPort: freePort(t), httpPort: freePort(t), dataDir: t.TempDir()}
	// A # inside a key is part of it; a comment needs white space before it.
	lines := fmt.Sprintf("# the test mesh\n%s edge tcp://127.0.0.1:%d  # edge\n%s node # the node\n%s tool\n",
		edgePublic, e.meshPort, nodePublic, toolPublic)
	if err := os.WriteFile(allow, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	e.args = []string{"--mesh-key", edgeKey + "_secret", "--mesh-allow", allow}
	e.start()
	t.Cleanup(e.stop)

	node := connectNode(t, e, adashta.Options{MeshKey: nodeKey, MeshAllow: allow})
	got := make(chan string, 1)
	if err := node.Consume("secure", func(ctx context.Context, m *adashta.Message) error {
		got <- string(m.Data)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	newClient(t, e).produce("secure", "over CURVE")
	select {
	case data := <-got:
		if data != `"over CURVE"` {
			t.Fatalf("got %s", data)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no message over the CURVE mesh")
	}

	// A key the allow-list does not name as node cannot start as one.
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	if _, err := adashta.Connect(ctx, adashta.Options{Seeds: []string{e.seed()}, MeshKey: toolKey, MeshAllow: allow}); !errors.Is(err, adashta.ErrBadKey) {
		t.Fatalf("a tool key as node: %v", err)
	}
	if _, err := adashta.Connect(ctx, adashta.Options{Seeds: []string{e.seed()}, MeshKey: nodeKey}); !errors.Is(err, adashta.ErrBadKey) {
		t.Fatalf("a key without an allow-list: %v", err)
	}
	// A stranger that lists itself in its own allow-list still is not in the edge's.
	own := filepath.Join(dir, "stranger-allow")
	if err := os.WriteFile(own, []byte(lines+strangerPublic+" node\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := adashta.Connect(ctx, adashta.Options{Seeds: []string{e.seed()}, MeshKey: strangerKey, MeshAllow: own}); !errors.Is(err, adashta.ErrNoEdge) {
		t.Fatalf("a stranger's key: %v", err)
	}
	// With the seed's key written in the seed, a member needs no endpoint in the list.
	secret := readSecret(t, nodeKey+"_secret")
	seedOnly := filepath.Join(dir, "allow-no-endpoint")
	if err := os.WriteFile(seedOnly, []byte(fmt.Sprintf("%s edge\n%s node\n", edgePublic, nodePublic)), 0o644); err != nil {
		t.Fatal(err)
	}
	second := connectNode(t, e, adashta.Options{Seeds: []string{e.seed() + "|" + edgePublic}, MeshSecret: secret, MeshAllow: seedOnly})
	peers, err := second.Peers(context.Background())
	if err != nil || len(peers) == 0 {
		t.Fatalf("Peers: %v %v", peers, err)
	}
}

// readSecret takes the Z85 secret key out of a zcert secret file.
func readSecret(t *testing.T, path string) string {
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(text), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "secret-key") {
			return strings.Trim(strings.TrimSpace(line[strings.Index(line, "=")+1:]), `"`)
		}
	}
	t.Fatalf("%s holds no secret-key", path)
	return ""
}
