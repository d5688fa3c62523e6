// The echo server node in Go: consumes the queue "echo" and sends each message's data back
// to the client that sent it, on the same queue. The same program as examples/echo/echo.cpp.
//
//	ADASHTA_SEEDS=tcp://127.0.0.1:7700 go run ./echo
package main

import (
	"context"
	"log"
	"os"
	"os/signal"
	"syscall"

	adashta "github.com/adashta/adashta-queue/sdk/go"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	node, err := adashta.Connect(ctx, adashta.OptionsFromEnv()) // options from ADASHTA_* variables
	if err != nil {
		log.Fatalf("echo: %v", err)
	}
	defer node.Close()
	err = node.Consume("echo", func(ctx context.Context, m *adashta.Message) error {
		_, err := node.Produce(ctx, "echo", m.Data, adashta.ProduceOptions{To: m.Client})
		return err // an error leaves the message unacknowledged: it comes again
	})
	if err != nil {
		log.Fatalf("echo: %v", err)
	}
	log.Printf("echo: consuming \"echo\" at %s", node.Endpoint())
	<-ctx.Done()
}
