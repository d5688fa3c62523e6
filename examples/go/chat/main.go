// The chat server node in Go: consumes the queue "chat", where browsers send {nick, text},
// and broadcasts {nick, text, at} to every browser consuming "chat"; announces who comes and
// goes on "chat.presence". The same program as examples/chat/chat.cpp, for the same page.
//
//	ADASHTA_SEEDS=tcp://127.0.0.1:7700 go run ./chat
package main

import (
	"context"
	"log"
	"os"
	"os/signal"
	"syscall"

	adashta "github.com/adashta/adashta-queue/sdk/go"
)

const (
	maxNick = 32
	maxText = 2000
)

type line struct {
	Nick string `json:"nick"`
	Text string `json:"text"`
	At   int64  `json:"at,omitempty"`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var node *adashta.Node
	presence := func(event string) {
		if _, err := node.Produce(ctx, "chat.presence", map[string]string{"event": event}, adashta.ProduceOptions{}); err != nil {
			log.Printf("chat: presence: %v", err)
		}
	}
	opts := adashta.OptionsFromEnv()
	opts.OnConnection = func(e adashta.ClientEvent) {
		if !e.Resumed {
			presence("joined")
		}
	}
	opts.OnDisconnection = func(adashta.ClientEvent) { presence("left") }
	var err error
	if node, err = adashta.Connect(ctx, opts); err != nil {
		log.Fatalf("chat: %v", err)
	}
	defer node.Close()
	err = node.Consume("chat", func(ctx context.Context, m *adashta.Message) error {
		var in line
		if err := m.Decode(&in); err != nil || in.Text == "" || len(in.Text) > maxText {
			_, err := node.Produce(ctx, "chat.errors", map[string]string{"error": `send {"nick":..., "text":...}`},
				adashta.ProduceOptions{To: m.Client})
			return err
		}
		if in.Nick == "" {
			in.Nick = "guest"
		}
		if len(in.Nick) > maxNick {
			in.Nick = in.Nick[:maxNick]
		}
		in.At = m.Created.UnixMilli()
		_, err := node.Produce(ctx, "chat", in, adashta.ProduceOptions{}) // to everyone in "chat"
		return err
	})
	if err != nil {
		log.Fatalf("chat: %v", err)
	}
	log.Printf("chat: consuming \"chat\" at %s", node.Endpoint())
	<-ctx.Done()
}
