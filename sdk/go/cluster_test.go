package adashta_test

// The real processes and clients the tests talk to: an edge (`adashta edge` from
// $ADASHTA_BUILD_DIR) on free loopback ports, and a tiny browser-protocol client
// (docs/protocol.md section 1) over WebSocket.

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/adashta/adashta-queue/sdk/go"
)

func buildDir(t *testing.T) string {
	dir := os.Getenv("ADASHTA_BUILD_DIR")
	if dir == "" {
		dir = "../../build"
	}
	dir, _ = filepath.Abs(dir)
	if _, err := os.Stat(filepath.Join(dir, "adashta")); err != nil {
		t.Fatalf("%s/adashta is missing: build the project first (cmake -S . -B build -G Ninja && ninja -C build) or set ADASHTA_BUILD_DIR", dir)
	}
	return dir
}

// freePort is a loopback port below Linux's ephemeral range that nobody listens on now.
func freePort(t *testing.T) int {
	for i := 0; i < 200; i++ {
		port := 20000 + rand.Intn(12000)
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free loopback port between 20000 and 32000")
	return 0
}

// waitFor polls check every 20 ms until it is true; fails the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type testEdge struct {
	t        *testing.T
	bin      string
	args     []string
	meshPort int
	httpPort int
	dataDir  string
	cmd      *exec.Cmd
	exited   chan struct{}
	log      *os.File
}

// startEdge runs `adashta edge` with extra flags; it is stopped when the test ends.
func startEdge(t *testing.T, extra ...string) *testEdge {
	t.Helper()
	e := &testEdge{t: t, bin: filepath.Join(buildDir(t), "adashta"), args: extra,
		meshPort: freePort(t), httpPort: freePort(t), dataDir: t.TempDir()}
	e.start()
	t.Cleanup(e.stop)
	return e
}

func (e *testEdge) seed() string { return fmt.Sprintf("tcp://127.0.0.1:%d", e.meshPort) }

func (e *testEdge) start() {
	t := e.t
	t.Helper()
	args := append([]string{"edge", "--mesh", fmt.Sprintf("127.0.0.1:%d", e.meshPort),
		"--http", fmt.Sprintf("127.0.0.1:%d", e.httpPort), "--data", e.dataDir,
		"--heartbeat-ms", "200", "--peer-timeout-ms", "1000"}, e.args...)
	e.cmd = exec.Command(e.bin, args...)
	var err error
	if e.log, err = os.CreateTemp(t.TempDir(), "edge-*.log"); err != nil {
		t.Fatal(err)
	}
	e.cmd.Stdout, e.cmd.Stderr = e.log, e.log
	if err := e.cmd.Start(); err != nil {
		t.Fatalf("starting the edge: %v", err)
	}
	e.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) { _ = cmd.Wait(); close(exited) }(e.cmd, e.exited)
	waitFor(t, 10*time.Second, "the edge's /healthz", func() bool {
		select {
		case <-e.exited:
			out, _ := os.ReadFile(e.log.Name())
			t.Fatalf("the edge exited: %s", out)
		default:
		}
		r, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", e.httpPort))
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == 200
	})
}

func (e *testEdge) stop() {
	if e.cmd == nil {
		return
	}
	_ = e.cmd.Process.Signal(os.Interrupt)
	select {
	case <-e.exited:
	case <-time.After(5 * time.Second):
		_ = e.cmd.Process.Kill()
		<-e.exited
	}
	e.cmd = nil
	if e.t.Failed() {
		out, _ := os.ReadFile(e.log.Name())
		e.t.Logf("edge log:\n%s", out)
	}
}

func (e *testEdge) restart() {
	e.stop()
	e.start()
}

// connectNode joins the edge; closed when the test ends.
func connectNode(t *testing.T, e *testEdge, opts adashta.Options) *adashta.Node {
	t.Helper()
	if len(opts.Seeds) == 0 {
		opts.Seeds = []string{e.seed()}
	}
	opts.Heartbeat = 200 * time.Millisecond
	opts.PeerTimeout = time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	node, err := adashta.Connect(ctx, opts)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { node.Close() })
	return node
}

// client is a browser-protocol client: JSON frames over WebSocket.
type client struct {
	t       *testing.T
	conn    *websocket.Conn
	session string
	user    string
	mu      sync.Mutex // guards frames, ref
	frames  []map[string]interface{}
	ref     int
	changed chan struct{}
}

func dial(t *testing.T, e *testEdge, hello map[string]interface{}) (*client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, fmt.Sprintf("ws://127.0.0.1:%d/ws", e.httpPort), nil)
	if err != nil {
		return nil, err
	}
	conn.SetReadLimit(4 << 20)
	c := &client{t: t, conn: conn, changed: make(chan struct{}, 1)}
	if hello == nil {
		hello = map[string]interface{}{}
	}
	hello["type"] = "hello"
	c.send(hello)
	go c.read()
	welcome, err := c.waitErr(5*time.Second, func(f map[string]interface{}) bool { return f["type"] == "welcome" || f["type"] == "error" })
	if err != nil {
		return nil, err
	}
	if welcome["type"] != "welcome" {
		return nil, fmt.Errorf("hello refused: %v", welcome)
	}
	c.session, _ = welcome["session"].(string)
	c.user, _ = welcome["user"].(string)
	t.Cleanup(func() { c.conn.Close(websocket.StatusNormalClosure, "") })
	return c, nil
}

func newClient(t *testing.T, e *testEdge) *client {
	t.Helper()
	c, err := dial(t, e, nil)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	return c
}

func (c *client) send(frame map[string]interface{}) {
	text, _ := json.Marshal(frame)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, text); err != nil {
		c.t.Errorf("client write: %v", err)
	}
}

func (c *client) read() {
	for {
		_, text, err := c.conn.Read(context.Background())
		if err != nil {
			return
		}
		var f map[string]interface{}
		if json.Unmarshal(text, &f) != nil {
			continue
		}
		c.mu.Lock()
		c.frames = append(c.frames, f)
		c.mu.Unlock()
		select {
		case c.changed <- struct{}{}:
		default:
		}
	}
}

// request sends a frame with a new ref and waits for its answer (ack, error, messages).
func (c *client) request(frame map[string]interface{}) map[string]interface{} {
	c.t.Helper()
	c.mu.Lock()
	c.ref++
	ref := float64(c.ref)
	c.mu.Unlock()
	frame["ref"] = ref
	c.send(frame)
	return c.wait(5*time.Second, fmt.Sprintf("the answer to %v", frame), func(f map[string]interface{}) bool { return f["ref"] == ref })
}

// produce sends data to queue and fails the test unless the edge acks it.
func (c *client) produce(queue string, data interface{}) string {
	c.t.Helper()
	answer := c.request(map[string]interface{}{"type": "produce", "queue": queue, "data": data})
	if answer["type"] != "ack" {
		c.t.Fatalf("produce to %s: %v", queue, answer)
	}
	id, _ := answer["id"].(string)
	return id
}

func (c *client) consume(queue string) {
	c.t.Helper()
	if answer := c.request(map[string]interface{}{"type": "consume", "queue": queue}); answer["type"] != "ack" {
		c.t.Fatalf("consume %s: %v", queue, answer)
	}
}

// messages are the message frames of queue received so far.
func (c *client) messages(queue string) []map[string]interface{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []map[string]interface{}
	for _, f := range c.frames {
		if f["type"] == "message" && f["queue"] == queue {
			out = append(out, f)
		}
	}
	return out
}

func (c *client) wait(timeout time.Duration, what string, match func(map[string]interface{}) bool) map[string]interface{} {
	c.t.Helper()
	f, err := c.waitErr(timeout, match)
	if err != nil {
		c.t.Fatalf("waiting for %s: %v", what, err)
	}
	return f
}

func (c *client) waitErr(timeout time.Duration, match func(map[string]interface{}) bool) (map[string]interface{}, error) {
	deadline := time.After(timeout)
	seen := 0
	for {
		c.mu.Lock()
		for ; seen < len(c.frames); seen++ {
			if match(c.frames[seen]) {
				f := c.frames[seen]
				c.mu.Unlock()
				return f, nil
			}
		}
		c.mu.Unlock()
		select {
		case <-c.changed:
		case <-deadline:
			return nil, fmt.Errorf("nothing came within %v", timeout)
		}
	}
}

// writeConfig writes an edge --config file and returns the flags for it.
func writeConfig(t *testing.T, config string) []string {
	path := filepath.Join(t.TempDir(), "edge.json")
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"--config", path}
}
