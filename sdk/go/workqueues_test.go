package adashta_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/adashta/adashta-queue/sdk/go"
)

func TestWorkQueuesDoWhatRSMQDoes(t *testing.T) {
	edge := startEdge(t)
	node := connectNode(t, edge, adashta.Options{})
	jobs := node.WorkQueues()
	ctx := context.Background()

	if err := jobs.CreateQueue(ctx, "thumbs", adashta.QueueOptions{VT: adashta.Duration(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := jobs.CreateQueue(ctx, "thumbs", adashta.QueueOptions{}); !errors.Is(err, adashta.ErrQueueExists) {
		t.Fatalf("creating it twice: %v", err)
	}
	if names, err := jobs.ListQueues(ctx); err != nil || len(names) != 1 || names[0] != "thumbs" {
		t.Fatalf("ListQueues: %v %v", names, err)
	}
	attrs, err := jobs.SetQueueAttributes(ctx, "thumbs", adashta.QueueOptions{Delay: adashta.Duration(0), VT: adashta.Duration(30 * time.Second)})
	if err != nil || attrs.VT != 30*time.Second {
		t.Fatalf("SetQueueAttributes: %+v %v", attrs, err)
	}

	id, err := jobs.SendMessage(ctx, "thumbs", "a.png", 0)
	if err != nil {
		t.Fatal(err)
	}
	job, err := jobs.ReceiveMessage(ctx, "thumbs", adashta.ReceiveOptions{})
	if err != nil || job == nil || job.ID != id || job.Message != "a.png" || job.RC != 1 {
		t.Fatalf("ReceiveMessage: %+v %v", job, err)
	}
	if again, err := jobs.ReceiveMessage(ctx, "thumbs", adashta.ReceiveOptions{}); err != nil || again != nil {
		t.Fatalf("a hidden job was received again: %+v %v", again, err)
	}
	if err := jobs.ChangeMessageVisibility(ctx, "thumbs", id, 0); err != nil {
		t.Fatal(err)
	}
	if job, err = jobs.ReceiveMessage(ctx, "thumbs", adashta.ReceiveOptions{}); err != nil || job == nil || job.RC != 2 {
		t.Fatalf("visible again: %+v %v", job, err)
	}
	if deleted, err := jobs.DeleteMessage(ctx, "thumbs", id); err != nil || !deleted {
		t.Fatalf("DeleteMessage: %v %v", deleted, err)
	}
	if deleted, _ := jobs.DeleteMessage(ctx, "thumbs", id); deleted {
		t.Fatal("a retried delete said it deleted")
	}

	ids, err := jobs.SendMessageBatch(ctx, "thumbs", []string{"b", "c", "d"}, 0)
	if err != nil || len(ids) != 3 {
		t.Fatalf("SendMessageBatch: %v %v", ids, err)
	}
	got, err := jobs.ReceiveMessageBatch(ctx, "thumbs", 2, adashta.ReceiveOptions{})
	if err != nil || len(got) != 2 || got[0].Message != "b" {
		t.Fatalf("ReceiveMessageBatch: %v %v", got, err)
	}
	flags, err := jobs.DeleteMessageBatch(ctx, "thumbs", []string{got[0].ID, got[1].ID, "nope"})
	if err != nil || len(flags) != 3 || !flags[0] || !flags[1] || flags[2] {
		t.Fatalf("DeleteMessageBatch: %v %v", flags, err)
	}
	popped, err := jobs.PopMessage(ctx, "thumbs", 0)
	if err != nil || popped == nil || popped.Message != "d" {
		t.Fatalf("PopMessage: %+v %v", popped, err)
	}
	if attrs, err = jobs.GetQueueAttributes(ctx, "thumbs"); err != nil || attrs.Msgs != 0 || attrs.TotalSent != 4 {
		t.Fatalf("GetQueueAttributes: %+v %v", attrs, err)
	}
	if err := jobs.DeleteQueue(ctx, "thumbs"); err != nil {
		t.Fatal(err)
	}
	if _, err := jobs.GetQueueAttributes(ctx, "thumbs"); !errors.Is(err, adashta.ErrUnknownQueue) {
		t.Fatalf("a deleted queue: %v", err)
	}
}

func TestAReceiveWaitsForTheNextJob(t *testing.T) {
	edge := startEdge(t)
	node := connectNode(t, edge, adashta.Options{})
	jobs := node.WorkQueues()
	ctx := context.Background()
	if err := jobs.CreateQueue(ctx, "mail", adashta.QueueOptions{}); err != nil {
		t.Fatal(err)
	}
	type received struct {
		job *adashta.Job
		err error
	}
	done := make(chan received, 1)
	go func() {
		job, err := jobs.ReceiveMessage(ctx, "mail", adashta.ReceiveOptions{Wait: 10 * time.Second})
		done <- received{job, err}
	}()
	// Send until the waiting receive has it: a send before the receive waits is fine too.
	if _, err := jobs.SendMessage(ctx, "mail", "hello", 0); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err != nil || r.job == nil || r.job.Message != "hello" {
			t.Fatalf("long poll: %+v %v", r.job, r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting receive did not get the job")
	}
	start := time.Now()
	if job, err := jobs.ReceiveMessage(ctx, "mail", adashta.ReceiveOptions{Wait: 300 * time.Millisecond}); err != nil || job != nil {
		t.Fatalf("an empty queue: %+v %v", job, err)
	}
	if waited := time.Since(start); waited < 250*time.Millisecond {
		t.Fatalf("the receive returned after %v, before its wait", waited)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := jobs.ReceiveMessage(short, "mail", adashta.ReceiveOptions{Wait: 5 * time.Second}); !errors.Is(err, adashta.ErrTimedOut) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a receive past its context: %v", err)
	}
}

func TestJobsPastMaxReceiveMoveToTheDeadLetterQueue(t *testing.T) {
	edge := startEdge(t)
	node := connectNode(t, edge, adashta.Options{})
	jobs := node.WorkQueues()
	ctx := context.Background()
	if err := jobs.CreateQueue(ctx, "dead", adashta.QueueOptions{}); err != nil {
		t.Fatal(err)
	}
	one := int64(1)
	dead := "dead"
	if err := jobs.CreateQueue(ctx, "risky", adashta.QueueOptions{VT: adashta.Duration(100 * time.Millisecond), MaxReceive: &one, DeadLetter: &dead}); err != nil {
		t.Fatal(err)
	}
	if _, err := jobs.SendMessage(ctx, "risky", "poison", 0); err != nil {
		t.Fatal(err)
	}
	if job, err := jobs.ReceiveMessage(ctx, "risky", adashta.ReceiveOptions{}); err != nil || job == nil {
		t.Fatalf("first receive: %+v %v", job, err)
	}
	// Once its visibility timeout passes, the receive that would be its second moves it.
	var job *adashta.Job
	waitFor(t, 5*time.Second, "the job in the dead-letter queue", func() bool {
		again, err := jobs.ReceiveMessage(ctx, "risky", adashta.ReceiveOptions{})
		if err != nil || again != nil {
			t.Fatalf("a job past maxReceive was received again: %+v %v", again, err)
		}
		job, err = jobs.ReceiveMessage(ctx, "dead", adashta.ReceiveOptions{})
		return err == nil && job != nil
	})
	if job.Message != "poison" {
		t.Fatalf("the dead-letter queue holds %+v", job)
	}
	attrs, err := jobs.GetQueueAttributes(ctx, "risky")
	if err != nil || attrs.TotalDead != 1 || attrs.DeadLetter != "dead" || attrs.MaxReceive != 1 {
		t.Fatalf("attributes: %+v %v", attrs, err)
	}
}

func TestManyConcurrentCallsAllGetTheirAnswers(t *testing.T) {
	edge := startEdge(t)
	node := connectNode(t, edge, adashta.Options{})
	jobs := node.WorkQueues()
	ctx := context.Background()
	if err := jobs.CreateQueue(ctx, "burst", adashta.QueueOptions{}); err != nil {
		t.Fatal(err)
	}
	// Calls made while others are in flight go out together (Requests frames): each
	// caller must still get its own answer.
	const callers = 64
	ids := make(chan string, callers)
	errs := make(chan error, callers)
	for i := 0; i < callers; i++ {
		go func(i int) {
			id, err := jobs.SendMessage(ctx, "burst", strconv.Itoa(i), 0)
			if err != nil {
				errs <- err
				return
			}
			ids <- id
		}(i)
	}
	seen := map[string]bool{}
	for i := 0; i < callers; i++ {
		select {
		case id := <-ids:
			seen[id] = true
		case err := <-errs:
			t.Fatal(err)
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d calls answered", i, callers)
		}
	}
	if attrs, err := jobs.GetQueueAttributes(ctx, "burst"); err != nil || attrs.Msgs != callers || len(seen) != callers {
		t.Fatalf("%d distinct ids, attributes %+v %v", len(seen), attrs, err)
	}
}
