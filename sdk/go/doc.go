// Package adashta is the Go server SDK of Adashta Queue: it embeds a mesh node in a server
// application, which joins the edges (and other nodes) over ZeroMQ, consumes the queues
// browser clients produce to, produces to clients, and uses the edges' stores (fetch,
// scheduled messages, RSMQ-style work queues).
//
//	node, err := adashta.Connect(ctx, adashta.OptionsFromEnv()) // ADASHTA_SEEDS=tcp://edge:7700
//	if err != nil {
//		log.Fatal(err) // errors.Is(err, adashta.ErrNoEdge): no edge answered in time
//	}
//	defer node.Close()
//	err = node.Consume("echo", func(ctx context.Context, m *adashta.Message) error {
//		_, err := node.Produce(ctx, "echo", m.Data, adashta.ProduceOptions{To: m.Client})
//		return err // nil acknowledges m; an error or panic has it delivered again
//	})
//
// Every error is an *Error with a code from the project's one catalogue
// (proto/errors.json), comparable with errors.Is against the generated values ErrNoEdge,
// ErrUnknownQueue, and so on. Every blocking call takes a context.
//
// Source layout: node.go (Node, Connect, Produce, Call, Fetch, Cancel), consume.go
// (handlers, lanes, acks), message.go (Message, Defer), workqueues.go, token.go, mesh.go
// (membership and sockets: the mesh goroutine), codec.go (FlatBuffers frames), keys.go
// (CURVE keys, allow-list), options.go, ids.go, errors.go + errors_gen.go (the catalogue),
// internal/wire (flatc's code for proto/mesh.fbs), internal/gen + internal/errgen (the
// catalogue's generator), cmd/adashta-conformance-driver.
package adashta
