package adashta_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/adashta/adashta-queue/sdk/go"
)

func TestConsumeAcknowledgesWhatTheHandlerReturnsNilFor(t *testing.T) {
	edge := startEdge(t)
	node := connectNode(t, edge, adashta.Options{Name: "orders"})
	got := make(chan *adashta.Message, 10)
	if err := node.Consume("orders", func(ctx context.Context, m *adashta.Message) error {
		got <- m
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, edge)
	id := c.produce("orders", map[string]interface{}{"sku": "A-1", "n": 2})
	select {
	case m := <-got:
		if m.ID != id || m.Client != c.session || m.ReceiveCount != 1 {
			t.Fatalf("got %+v, want id %s from %s, first delivery", m, id, c.session)
		}
		var order struct{ Sku string }
		if err := m.Decode(&order); err != nil || order.Sku != "A-1" {
			t.Fatalf("data %s: %v", m.Data, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no message reached the handler")
	}
}

func TestProduceReachesOneClientAndFansOut(t *testing.T) {
	edge := startEdge(t)
	node := connectNode(t, edge, adashta.Options{})
	alice, bob := newClient(t, edge), newClient(t, edge)
	alice.consume("news")
	bob.consume("news")
	ctx := context.Background()
	if _, err := node.Produce(ctx, "news", []byte(`{"to":"alice"}`), adashta.ProduceOptions{To: alice.session}); err != nil {
		t.Fatal(err)
	}
	if _, err := node.Produce(ctx, "news", map[string]string{"to": "all"}, adashta.ProduceOptions{Confirm: true}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "alice's two messages", func() bool { return len(alice.messages("news")) == 2 })
	waitFor(t, 5*time.Second, "bob's fan-out", func() bool { return len(bob.messages("news")) == 1 })
	if got := bob.messages("news")[0]["data"].(map[string]interface{})["to"]; got != "all" {
		t.Fatalf("bob got %v", got)
	}
}

func TestProduceRefusesBadInput(t *testing.T) {
	edge := startEdge(t)
	node := connectNode(t, edge, adashta.Options{})
	ctx := context.Background()
	if _, err := node.Produce(ctx, "bad queue!", []byte(`1`), adashta.ProduceOptions{}); !errors.Is(err, adashta.ErrBadQueue) {
		t.Errorf("bad queue name: %v", err)
	}
	if _, err := node.Produce(ctx, "q", []byte(`{not json`), adashta.ProduceOptions{}); !errors.Is(err, adashta.ErrBadData) {
		t.Errorf("bad data: %v", err)
	}
	if _, err := node.Produce(ctx, "q", json.RawMessage(`1`), adashta.ProduceOptions{Delay: -time.Second}); !errors.Is(err, adashta.ErrBadTimeout) {
		t.Errorf("negative delay: %v", err)
	}
}

func TestUnconsumeStopsTheRouting(t *testing.T) {
	edge := startEdge(t)
	node := connectNode(t, edge, adashta.Options{})
	if err := node.Consume("brief", func(ctx context.Context, m *adashta.Message) error { return nil }); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, edge)
	c.produce("brief", 1)
	if err := node.Unconsume("brief"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the edge to see no consumer of brief", func() bool {
		answer := c.request(map[string]interface{}{"type": "produce", "queue": "brief", "data": 2})
		return answer["name"] == "no_consumer"
	})
	if err := node.Consume("", func(ctx context.Context, m *adashta.Message) error { return nil }); !errors.Is(err, adashta.ErrBadQueue) {
		t.Fatalf("an empty queue name: %v", err)
	}
}

func TestACancelledCallReturnsContextCanceled(t *testing.T) {
	edge := startEdge(t)
	node := connectNode(t, edge, adashta.Options{})
	jobs := node.WorkQueues()
	if err := jobs.CreateQueue(context.Background(), "idle", adashta.QueueOptions{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := jobs.ReceiveMessage(ctx, "idle", adashta.ReceiveOptions{Wait: 10 * time.Second})
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a cancelled call kept waiting")
	}
	node.Close()
	if _, err := node.Produce(context.Background(), "idle", 1, adashta.ProduceOptions{}); !errors.Is(err, adashta.ErrNotStarted) {
		t.Fatalf("Produce after Close: %v", err)
	}
}
