package adashta_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/adashta/adashta-queue/sdk/go"
)

func TestAFailingOrPanickingHandlerGetsTheMessageAgain(t *testing.T) {
	edge := startEdge(t, writeConfig(t, `{"queues":{"flaky":{"visibility":"500ms"}}}`)...)
	var mu sync.Mutex
	var reported []error
	node := connectNode(t, edge, adashta.Options{OnError: func(err error, m *adashta.Message) {
		mu.Lock()
		reported = append(reported, err)
		mu.Unlock()
	}})
	counts := make(chan int, 10)
	if err := node.Consume("flaky", func(ctx context.Context, m *adashta.Message) error {
		counts <- m.ReceiveCount
		switch m.ReceiveCount {
		case 1:
			return errors.New("database down")
		case 2:
			panic("nil map")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	newClient(t, edge).produce("flaky", "job")
	for want := 1; want <= 3; want++ {
		select {
		case got := <-counts:
			if got != want {
				t.Fatalf("delivery %d had ReceiveCount %d", want, got)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("delivery %d never came", want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	var panicked *adashta.PanicError
	if len(reported) != 2 || reported[0].Error() != "database down" || !errors.As(reported[1], &panicked) {
		t.Fatalf("OnError got %v, want the error and the panic", reported)
	}
	select {
	case got := <-counts:
		t.Fatalf("an acknowledged message came again (ReceiveCount %d)", got)
	case <-time.After(800 * time.Millisecond): // past the visibility timeout: it stays acked
	}
}

func TestConcurrentHandlersKeepEachClientsOrder(t *testing.T) {
	edge := startEdge(t)
	node := connectNode(t, edge, adashta.Options{})
	var mu sync.Mutex
	seen := map[string][]int{}
	running, most := 0, 0
	if err := node.Consume("work", func(ctx context.Context, m *adashta.Message) error {
		mu.Lock()
		running++
		if running > most {
			most = running
		}
		mu.Unlock()
		var n int
		_ = m.Decode(&n)
		time.Sleep(2 * time.Millisecond) // work that takes time, so lanes overlap
		mu.Lock()
		running--
		seen[m.Client] = append(seen[m.Client], n)
		mu.Unlock()
		return nil
	}, adashta.WithConcurrency(8)); err != nil {
		t.Fatal(err)
	}
	const perClient = 25
	var clients []*client
	for i := 0; i < 6; i++ {
		clients = append(clients, newClient(t, edge))
	}
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Add(1)
		go func(c *client) {
			defer wg.Done()
			for n := 0; n < perClient; n++ {
				c.produce("work", n)
			}
		}(c)
	}
	wg.Wait()
	waitFor(t, 10*time.Second, "every message handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		total := 0
		for _, s := range seen {
			total += len(s)
		}
		return total == perClient*len(clients)
	})
	mu.Lock()
	defer mu.Unlock()
	for client, order := range seen {
		for i, n := range order {
			if n != i {
				t.Fatalf("client %s: handled %v, out of order", client, order)
			}
		}
	}
	if most < 2 {
		t.Errorf("at most %d handler ran at once with WithConcurrency(8)", most)
	}
}

func TestADeferredMessageIsAckedLater(t *testing.T) {
	edge := startEdge(t, writeConfig(t, `{"queues":{"held":{"visibility":"500ms"}}}`)...)
	node := connectNode(t, edge, adashta.Options{})
	held := make(chan *adashta.Held, 10)
	counts := make(chan int, 10)
	if err := node.Consume("held", func(ctx context.Context, m *adashta.Message) error {
		counts <- m.ReceiveCount
		held <- m.Defer()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	next := func() *adashta.Held {
		select {
		case h := <-held:
			return h
		case <-time.After(5 * time.Second):
			t.Fatal("no delivery")
			return nil
		}
	}
	newClient(t, edge).produce("held", 1)
	next().Release()
	if got := <-counts; got != 1 { // sent before the Defer that next() waited for
		t.Fatalf("first delivery %d", got)
	}
	select { // released: it comes again after the visibility timeout
	case got := <-counts:
		if got != 2 {
			t.Fatalf("redelivery had ReceiveCount %d", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a released message never came again")
	}
	next().Ack()
	select {
	case got := <-counts:
		t.Fatalf("an acked message came again (%d)", got)
	case <-time.After(800 * time.Millisecond):
	}
}

func TestClientEventsReachTheCallbacks(t *testing.T) {
	edge := startEdge(t)
	events := make(chan string, 10)
	connectNode(t, edge, adashta.Options{
		OnConnection:    func(e adashta.ClientEvent) { events <- "connected " + e.Client },
		OnDisconnection: func(e adashta.ClientEvent) { events <- "disconnected " + e.Client },
	})
	c := newClient(t, edge)
	next := func() string {
		select {
		case e := <-events:
			return e
		case <-time.After(5 * time.Second):
			return "nothing"
		}
	}
	if got := next(); got != "connected "+c.session {
		t.Fatalf("got %q, want connected %s", got, c.session)
	}
	c.conn.CloseNow()
	if got := next(); got != "disconnected "+c.session {
		t.Fatalf("got %q, want disconnected %s", got, c.session)
	}
}

func TestTheNodeRejoinsARestartedEdge(t *testing.T) {
	edge := startEdge(t)
	node := connectNode(t, edge, adashta.Options{})
	got := make(chan string, 10)
	if err := node.Consume("orders", func(ctx context.Context, m *adashta.Message) error {
		got <- string(m.Data)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	edge.restart()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := node.WaitForEdges(ctx, 1); err != nil {
		t.Fatal(err)
	}
	var c *client
	waitFor(t, 10*time.Second, "the restarted edge to route orders to the node", func() bool {
		if c == nil {
			c = newClient(t, edge)
		}
		answer := c.request(map[string]interface{}{"type": "produce", "queue": "orders", "data": "after"})
		return answer["type"] == "ack"
	})
	select {
	case data := <-got:
		if data != `"after"` {
			t.Fatalf("got %s", data)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no message after the restart")
	}
}

func TestConnectWithoutAnEdgeFailsWithNoEdge(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := adashta.Connect(ctx, adashta.Options{Seeds: []string{fmt.Sprintf("tcp://127.0.0.1:%d", freePort(t))}})
	if !errors.Is(err, adashta.ErrNoEdge) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want no_edge after the deadline", err)
	}
	if _, err := adashta.Connect(ctx, adashta.Options{Seeds: []string{"udp://nowhere"}}); !errors.Is(err, adashta.ErrBadEndpoint) {
		t.Fatalf("got %v, want bad_endpoint", err)
	}
}

func TestCloseFromAHandlerReturnsAndTheNodeStops(t *testing.T) {
	edge := startEdge(t)
	node := connectNode(t, edge, adashta.Options{})
	closed := make(chan struct{})
	if err := node.Consume("work", func(ctx context.Context, m *adashta.Message) error {
		node.Close() // would wait for this very handler if it waited for every handler
		close(closed)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, edge)
	c.produce("work", "stop")
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close from a handler did not return")
	}
	done := make(chan struct{})
	go func() { node.Close(); close(done) }() // a second Close, as a deferred one in main would
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close after a handler's Close did not return")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := node.Produce(ctx, "work", 1, adashta.ProduceOptions{}); !errors.Is(err, adashta.ErrNotStarted) {
		t.Fatalf("Produce after Close: %v, want ErrNotStarted", err)
	}
}
