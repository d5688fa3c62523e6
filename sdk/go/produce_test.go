package adashta_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/adashta/adashta-queue/sdk/go"
)

func TestADelayedMessageCanBeCancelledBeforeItsTime(t *testing.T) {
	edge := startEdge(t)
	node := connectNode(t, edge, adashta.Options{})
	c := newClient(t, edge)
	c.consume("later")
	ctx := context.Background()
	start := time.Now()
	cancelled, err := node.Produce(ctx, "later", "cancelled", adashta.ProduceOptions{To: c.session, Delay: 500 * time.Millisecond, Confirm: true})
	if err != nil {
		t.Fatal(err)
	}
	kept, err := node.Produce(ctx, "later", "kept", adashta.ProduceOptions{To: c.session, DeliverAt: start.Add(600 * time.Millisecond), Confirm: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := node.Cancel(ctx, cancelled); err != nil {
		t.Fatal(err)
	}
	m := c.wait(5*time.Second, "the kept message", func(f map[string]interface{}) bool { return f["type"] == "message" })
	if m["id"] != kept {
		t.Fatalf("got %v, want only %s", m, kept)
	}
	if early := time.Since(start); early < 550*time.Millisecond {
		t.Fatalf("a message held until 600 ms came after %v", early)
	}
	if got := c.messages("later"); len(got) != 1 {
		t.Fatalf("the cancelled message came too: %v", got)
	}
	if err := node.Cancel(ctx, kept); !errors.Is(err, adashta.ErrUnknownMessage) {
		t.Fatalf("cancelling a delivered message: %v", err)
	}
}

func TestFetchReadsTheStoredStream(t *testing.T) {
	edge := startEdge(t)
	node := connectNode(t, edge, adashta.Options{})
	ctx := context.Background()
	for _, text := range []string{`"one"`, `"two"`, `"three"`} {
		if _, err := node.Produce(ctx, "log", []byte(text), adashta.ProduceOptions{Confirm: true}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := node.Fetch(ctx, "log", adashta.FetchOptions{Limit: 2})
	if err != nil || len(page.Messages) != 2 || string(page.Messages[0].Data) != `"one"` {
		t.Fatalf("first page: %+v %v", page, err)
	}
	rest, err := node.Fetch(ctx, "log", adashta.FetchOptions{From: page.Next})
	if err != nil || len(rest.Messages) != 1 || string(rest.Messages[0].Data) != `"three"` {
		t.Fatalf("next page: %+v %v", rest, err)
	}
	if _, err := node.Fetch(ctx, "bad queue", adashta.FetchOptions{}); !errors.Is(err, adashta.ErrBadQueue) {
		t.Fatalf("a bad queue name: %v", err)
	}
}

func TestProduceToUserReachesTheUsersSessions(t *testing.T) {
	secret := "0123456789abcdef0123456789abcdef"
	edge := startEdge(t, "--auth", "optional", "--token-secret", secret)
	node := connectNode(t, edge, adashta.Options{})
	key, err := adashta.HS256Key([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	token, err := adashta.MintToken(adashta.Claims{Subject: "alice", Expires: time.Now().Add(time.Hour),
		Consume: []string{"user.*"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	alice, err := dial(t, edge, map[string]interface{}{"token": token})
	if err != nil {
		t.Fatalf("the edge refused a minted token: %v", err)
	}
	if alice.user != "alice" {
		t.Fatalf("welcome.user is %q", alice.user)
	}
	alice.consume("user.inbox")
	if _, err := node.Produce(context.Background(), "user.inbox", map[string]int{"unread": 3}, adashta.ProduceOptions{ToUser: "alice"}); err != nil {
		t.Fatal(err)
	}
	alice.wait(5*time.Second, "alice's message", func(f map[string]interface{}) bool { return f["type"] == "message" })
}

func TestProduceWithoutAnEdgeFailsWithNoEdge(t *testing.T) {
	edge := startEdge(t)
	node := connectNode(t, edge, adashta.Options{})
	edge.stop()
	waitFor(t, 5*time.Second, "the node to notice the edge is gone", func() bool {
		_, err := node.Produce(context.Background(), "q", 1, adashta.ProduceOptions{})
		return errors.Is(err, adashta.ErrNoEdge)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := node.Fetch(ctx, "q", adashta.FetchOptions{}); !errors.Is(err, adashta.ErrNoEdge) {
		t.Fatalf("a call without an edge: %v", err)
	}
}

func TestAtMostOnceMessagesAreNeverAcked(t *testing.T) {
	edge := startEdge(t, writeConfig(t, `{"queues":{"ticks":{"durable":false}}}`)...)
	node := connectNode(t, edge, adashta.Options{})
	got := make(chan *adashta.Message, 1)
	if err := node.Consume("ticks", func(ctx context.Context, m *adashta.Message) error {
		got <- m
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	newClient(t, edge).produce("ticks", 42)
	select {
	case m := <-got:
		if m.ReceiveCount != 0 || m.Offset != 0 {
			t.Fatalf("an at-most-once message: %+v", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no tick")
	}
}
