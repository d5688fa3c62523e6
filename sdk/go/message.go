package adashta

import (
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"
)

// Message is what a browser client produced to a queue this node consumes.
type Message struct {
	ID           string          // unique message id, for dropping duplicates
	Queue        string          //
	Client       string          // the sender's client (session) id: reply to it with ProduceOptions.To
	User         string          // the sender's user (its token's sub); empty when anonymous
	Data         json.RawMessage // JSON text
	Created      time.Time       // when the edge accepted it
	Offset       int64           // its place in the queue's stream; 0 on an at-most-once queue
	ReceiveCount int             // 1 on first delivery, more on redeliveries; 0: at-most-once (never acked, never again)

	node     *Node
	edge     string      // the edge to ack at; "" when there is nothing to ack
	deferred atomic.Bool // Defer was called: the handler's return does not ack
}

// Decode unmarshals Data into v.
func (m *Message) Decode(v interface{}) error { return json.Unmarshal(m.Data, v) }

// Held is a message whose acknowledgement its handler deferred (Message.Defer): Ack it
// when the work is done, or Release it to have it delivered again after the queue's
// visibility timeout. Either may be called from any goroutine; only the first call counts.
type Held struct {
	m    *Message
	once sync.Once
}

// Defer keeps the message for a later Ack or Release: the handler's return (with or without
// an error) no longer acknowledges it. Call it from the handler.
func (m *Message) Defer() *Held {
	m.deferred.Store(true)
	return &Held{m: m}
}

// Ack tells the edge the message was handled: it is not delivered again.
func (h *Held) Ack() { h.once.Do(func() { h.m.node.ack(h.m) }) }

// Release gives the message up unacknowledged: it comes again after the visibility timeout.
func (h *Held) Release() { h.once.Do(func() {}) }

// ID is the held message's id.
func (h *Held) ID() string { return h.m.ID }
