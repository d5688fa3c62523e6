package adashta_test

import (
	"context"
	"errors"
	"log"
	"os"
	"time"

	"github.com/adashta/adashta-queue/sdk/go"
)

func ExampleConnect() {
	ctx := context.Background()
	node, err := adashta.Connect(ctx, adashta.OptionsFromEnv()) // ADASHTA_SEEDS=tcp://edge:7700
	if errors.Is(err, adashta.ErrNoEdge) {
		log.Fatal("no edge answered: is it running, and is ADASHTA_SEEDS right?")
	} else if err != nil {
		log.Fatal(err)
	}
	defer node.Close()
	// Answer each client on the queue it wrote to.
	_ = node.Consume("echo", func(ctx context.Context, m *adashta.Message) error {
		_, err := node.Produce(ctx, "echo", m.Data, adashta.ProduceOptions{To: m.Client})
		return err // nil: acknowledged; an error: delivered again later
	})
}

func ExampleWorkQueues() {
	ctx := context.Background()
	node, err := adashta.Connect(ctx, adashta.OptionsFromEnv())
	if err != nil {
		log.Fatal(err)
	}
	defer node.Close()
	jobs := node.WorkQueues()
	_ = jobs.CreateQueue(ctx, "thumbs", adashta.QueueOptions{VT: adashta.Duration(time.Minute)})
	_, _ = jobs.SendMessage(ctx, "thumbs", "photo-17.png", 0)
	for {
		job, err := jobs.ReceiveMessage(ctx, "thumbs", adashta.ReceiveOptions{Wait: 20 * time.Second})
		if err != nil || job == nil {
			continue // nothing within 20 s, or an error to log
		}
		log.Printf("thumbnail of %s", job.Message)
		_, _ = jobs.DeleteMessage(ctx, "thumbs", job.ID)
	}
}

func ExampleMintToken() {
	key, err := adashta.HS256Key([]byte(os.Getenv("ADASHTA_TOKEN_SECRET"))) // the edge's --token-secret
	if err != nil {
		log.Fatal(err)
	}
	token, err := adashta.MintToken(adashta.Claims{Subject: "alice", Expires: time.Now().Add(time.Hour),
		Produce: []string{"chat.*"}, Consume: []string{"chat.*", "user.alice"}}, key)
	if err != nil {
		log.Fatal(err)
	}
	_ = token // hand it to the browser: adashta.connect({ token })
}
