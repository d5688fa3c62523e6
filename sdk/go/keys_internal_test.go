package adashta

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAnAllowListHashStartsACommentOnlyAfterWhiteSpace(t *testing.T) {
	key := "rq:rM>}U?@Lns47E1%kR.o@n%#cmmsL/@{H8]yf7" // Z85: holds a #
	path := filepath.Join(t.TempDir(), "allow")
	text := "# members\n" + key + " edge,node tcp://127.0.0.1:7700 # the edge\n\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	list, err := loadAllowList(path)
	if err != nil {
		t.Fatal(err)
	}
	k := list[key]
	if k == nil || !k.edge || !k.node || k.tool || k.endpoint != "tcp://127.0.0.1:7700" || k.name != "the edge" {
		t.Fatalf("parsed %+v", k)
	}
	if list.byEndpoint("tcp://127.0.0.1:7700") != k {
		t.Fatal("byEndpoint")
	}
	for _, bad := range []string{"short node\n", key + " admin\n", key + "\n", key + " node\n" + key + " edge\n", "# nothing\n"} {
		if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := loadAllowList(path); !errors.Is(err, ErrBadKey) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestSeedsAndEndpoints(t *testing.T) {
	if ep, err := normalizeEndpoint("127.0.0.1:0"); err != nil || ep != "tcp://127.0.0.1:*" {
		t.Fatalf("%q %v", ep, err)
	}
	if _, err := normalizeEndpoint("ipc:///tmp/x"); !errors.Is(err, ErrBadEndpoint) {
		t.Fatal(err)
	}
	key := strings.Repeat("a", 40)
	if ep, k, err := splitSeed("tcp://h:1|" + key); err != nil || ep != "tcp://h:1" || k != key {
		t.Fatalf("%q %q %v", ep, k, err)
	}
	if _, _, err := splitSeed("tcp://h:1|nope"); !errors.Is(err, ErrBadKey) {
		t.Fatal(err)
	}
}

func TestMessageIDsAreULIDLikeAndIncrease(t *testing.T) {
	last := ""
	for i := 0; i < 1000; i++ {
		id := newMessageID()
		if len(id) != 26 || strings.Trim(id, crockford) != "" || id <= last {
			t.Fatalf("id %q after %q", id, last)
		}
		last = id
	}
	if id := newNodeID(); len(id) != 32 {
		t.Fatalf("node id %q", id)
	}
}

func TestOptionsFromEnvReadTheCSDKsVariables(t *testing.T) {
	t.Setenv("ADASHTA_SEEDS", "tcp://a:1, tcp://b:2")
	t.Setenv("ADASHTA_NAME", "billing")
	t.Setenv("ADASHTA_HEARTBEAT_MS", "250")
	o := OptionsFromEnv()
	if len(o.Seeds) != 2 || o.Seeds[1] != "tcp://b:2" || o.Name != "billing" || o.Heartbeat.Milliseconds() != 250 || o.envError != "" {
		t.Fatalf("%+v", o)
	}
	t.Setenv("ADASHTA_PEER_TIMEOUT_MS", "soon")
	if o = OptionsFromEnv(); o.envError == "" {
		t.Fatal("a bad number was accepted")
	}
}

func TestAMalformedFrameIsAnErrorNotAPanic(t *testing.T) {
	good := encodeHello(&helloFrame{nodeID: "n", endpoint: "tcp://h:1", queues: []string{"a", "b"}})
	if f, err := decodeFrame(good); err != nil || f.hello.queues[1] != "b" {
		t.Fatalf("%+v %v", f, err)
	}
	for cut := 0; cut < len(good); cut += 3 {
		broken := append([]byte(nil), good[:cut]...)
		_, _ = decodeFrame(broken) // must not panic
	}
	junk := []byte{0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4, 5, 6, 7, 8}
	if _, err := decodeFrame(junk); err == nil {
		t.Fatal("junk decoded")
	}
}
