package adashta_test

import (
	"context"
	"testing"
	"time"

	"github.com/adashta/adashta-queue/sdk/go"
)

func TestJoiningOneEdgeIsEnoughToReachTheOthers(t *testing.T) {
	first := startEdge(t, "--name", "first")
	second := startEdge(t, "--name", "second", "--seeds", first.seed())
	node := connectNode(t, first, adashta.Options{Name: "joiner"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := node.WaitForEdges(ctx, 2); err != nil {
		t.Fatalf("the second edge, learnt from the first's PeerList: %v", err)
	}
	peers, err := node.Peers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, p := range peers {
		names[p.Name] = p.Role
	}
	if names["first"] != "edge" || names["second"] != "edge" {
		t.Fatalf("peers %+v", peers)
	}
	// A client of the second edge reaches the node too, and a fan-out reaches it.
	got := make(chan string, 1)
	if err := node.Consume("hub", func(ctx context.Context, m *adashta.Message) error {
		got <- m.Client
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, second)
	c.consume("hub")
	waitFor(t, 5*time.Second, "the second edge to route hub to the node", func() bool {
		return c.request(map[string]interface{}{"type": "produce", "queue": "hub", "data": 1})["type"] == "ack"
	})
	select {
	case client := <-got:
		if client != c.session {
			t.Fatalf("message from %s, want %s", client, c.session)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the acked message never reached the handler")
	}
	if _, err := node.Produce(ctx, "hub", "to all", adashta.ProduceOptions{}); err != nil {
		t.Fatal(err)
	}
	c.wait(5*time.Second, "the fan-out through the second edge", func(f map[string]interface{}) bool { return f["type"] == "message" })
}

func TestNodesLearnEachOtherThroughTheEdge(t *testing.T) {
	edge := startEdge(t)
	first := connectNode(t, edge, adashta.Options{Name: "first"})
	if err := first.Consume("billing", func(ctx context.Context, m *adashta.Message) error { return nil }); err != nil {
		t.Fatal(err)
	}
	second := connectNode(t, edge, adashta.Options{Name: "second"})
	waitFor(t, 5*time.Second, "the second node to list the first with its queue", func() bool {
		peers, err := second.Peers(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range peers {
			if p.Name == "first" && p.Role == "node" && len(p.Queues) == 1 && p.Queues[0] == "billing" {
				return true
			}
		}
		return false
	})
	first.Close()
	waitFor(t, 5*time.Second, "the second node to drop the first (Bye)", func() bool {
		peers, _ := second.Peers(context.Background())
		for _, p := range peers {
			if p.Name == "first" {
				return false
			}
		}
		return true
	})
}
