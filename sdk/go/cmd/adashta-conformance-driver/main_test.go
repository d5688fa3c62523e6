package main_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// The driver speaks DRIVER.md: ready, answers by ref, close exits 0.
func TestTheDriverAnswersCommandsAndExitsOnClose(t *testing.T) {
	build := os.Getenv("ADASHTA_BUILD_DIR")
	if build == "" {
		build = "../../../../build"
	}
	adashtaBin, _ := filepath.Abs(filepath.Join(build, "adashta"))
	if _, err := os.Stat(adashtaBin); err != nil {
		t.Fatalf("%s is missing: build the project or set ADASHTA_BUILD_DIR", adashtaBin)
	}
	driverBin := filepath.Join(t.TempDir(), "driver")
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go") // the toolchain running this test, on PATH or not
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	if out, err := exec.Command(goBin, "build", "-buildvcs=false", "-o", driverBin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v: %s", err, out)
	}
	mesh, web := port(t), port(t)
	edge := exec.Command(adashtaBin, "edge", "--mesh", "127.0.0.1:"+strconv.Itoa(mesh), "--http", "127.0.0.1:"+strconv.Itoa(web), "--data", t.TempDir())
	if err := edge.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = edge.Process.Kill(); _ = edge.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if r, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", web)); err == nil {
			r.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the edge did not come up")
		}
		time.Sleep(20 * time.Millisecond)
	}

	driver := exec.Command(driverBin)
	driver.Env = append(os.Environ(), fmt.Sprintf("ADASHTA_SEEDS=tcp://127.0.0.1:%d", mesh), "ADASHTA_NAME=go-driver")
	stdin, _ := driver.StdinPipe()
	stdout, _ := driver.StdoutPipe()
	if err := driver.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan map[string]interface{}, 100)
	go func() {
		in := bufio.NewScanner(stdout)
		for in.Scan() {
			var v map[string]interface{}
			if err := json.Unmarshal(in.Bytes(), &v); err != nil {
				t.Errorf("not JSON on stdout: %q", in.Text())
				continue
			}
			lines <- v
		}
		close(lines)
	}()
	next := func() map[string]interface{} {
		select {
		case v := <-lines:
			return v
		case <-time.After(15 * time.Second):
			t.Fatal("the driver said nothing")
			return nil
		}
	}
	if v := next(); v["event"] != "ready" {
		t.Fatalf("first line %v", v)
	}
	send := func(cmd string) map[string]interface{} {
		fmt.Fprintln(stdin, cmd)
		return next()
	}
	if v := send(`{"cmd":"connect","ref":1}`); v["ok"] != true || v["ref"] != 1.0 {
		t.Fatalf("connect: %v", v)
	}
	if v := send(`{"cmd":"consume","ref":2,"queue":"q","behavior":"echo"}`); v["ok"] != true {
		t.Fatalf("consume: %v", v)
	}
	if v := send(`{"cmd":"produceRaw","ref":3,"queue":"q","text":"{nope"}`); v["ok"] != false || v["error"].(map[string]interface{})["name"] != "bad_data" {
		t.Fatalf("produceRaw: %v", v)
	}
	if v := send(`{"cmd":"wq","ref":4,"op":"getQueueAttributes","args":{"qname":"none"}}`); v["ok"] != false || v["error"].(map[string]interface{})["code"] != 4105.0 {
		t.Fatalf("wq on an unknown queue: %v", v)
	}
	if v := send(`{"cmd":"peers","ref":5}`); v["ok"] != true {
		t.Fatalf("peers: %v", v)
	}
	if v := send(`{"cmd":"close","ref":6}`); v["ok"] != true {
		t.Fatalf("close: %v", v)
	}
	done := make(chan error, 1)
	go func() { done <- driver.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the driver exited with %v", err)
		}
	case <-time.After(10 * time.Second):
		_ = driver.Process.Kill()
		t.Fatal("the driver did not exit after close")
	}
}

func port(t *testing.T) int {
	for i := 0; i < 200; i++ {
		p := 20000 + rand.Intn(12000)
		if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p)); err == nil {
			l.Close()
			return p
		}
	}
	t.Fatal("no free port")
	return 0
}
