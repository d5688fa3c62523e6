package adashta

import (
	"context"
	"encoding/json"
	"time"
)

// WorkQueues are RSMQ-style job queues between server nodes, kept by the store of the edge
// with the lowest id. A job sent to a queue is received by one receiver and hidden from the
// others for the visibility timeout; if it is not deleted by then it comes back (RC counts
// its receives), and past MaxReceive it moves to the DeadLetter queue. The names and
// meanings are RSMQ's; times are time.Duration (sent in milliseconds).
//
//	jobs := node.WorkQueues()
//	_ = jobs.CreateQueue(ctx, "thumbnails", adashta.QueueOptions{VT: adashta.Duration(30 * time.Second)})
//	id, err := jobs.SendMessage(ctx, "thumbnails", "photo-17.png", 0)
//	// a worker:
//	job, err := jobs.ReceiveMessage(ctx, "thumbnails", adashta.ReceiveOptions{Wait: 20 * time.Second})
//	if job != nil { work(job.Message); _, _ = jobs.DeleteMessage(ctx, "thumbnails", job.ID) }
//
// Every call blocks for the edge's answer, bounded by ctx (without a deadline:
// Options.CallTimeout plus the long-poll wait). Errors: ErrUnknownQueue, ErrQueueExists,
// ErrBadQueue, ErrBadTimeout, ErrBadOption, ErrMessageTooLarge, ErrNoEdge, ErrTimedOut,
// ErrStorage*.
type WorkQueues struct{ node *Node }

// MaxBatch is the most jobs or ids one *Batch call takes.
const MaxBatch = 1000

// WorkQueues returns the node's work queues.
func (n *Node) WorkQueues() *WorkQueues { return &WorkQueues{node: n} }

// Duration makes an optional duration for QueueOptions.
func Duration(d time.Duration) *time.Duration { return &d }

// QueueOptions are a queue's settings; nil fields keep the edge's default (or, for
// SetQueueAttributes, the current value).
type QueueOptions struct {
	VT         *time.Duration // visibility timeout (default 30 s)
	Delay      *time.Duration // new jobs stay hidden this long (default 0)
	MaxSize    *int64         // largest job in bytes (65536; -1: no limit)
	MaxReceive *int64         // receives before dead-lettering (0: no limit)
	DeadLetter *string        // queue for jobs past MaxReceive
}

// QueueAttributes are what GetQueueAttributes reports.
type QueueAttributes struct {
	VT         time.Duration
	Delay      time.Duration
	MaxSize    int64
	TotalRecv  int64 // receives since the queue was created
	TotalSent  int64 // jobs sent since the queue was created
	Created    time.Time
	Modified   time.Time
	Msgs       int64  // jobs in the queue
	HiddenMsgs int64  // of those, not receivable now (delayed or in flight)
	MaxReceive int64  // 0: no limit
	DeadLetter string // "" : jobs past MaxReceive are dropped
	TotalDead  int64  // jobs dead-lettered since the queue was created
}

// Job is a received job.
type Job struct {
	ID      string    // give it to DeleteMessage
	Message string    // what was sent
	Sent    time.Time //
	First   time.Time // first received
	RC      int64     // times received, this one included
}

// ReceiveOptions tune a receive.
type ReceiveOptions struct {
	VT   *time.Duration // this receive's visibility timeout (default: the queue's)
	Wait time.Duration  // wait up to this long for a job (long poll, up to 60 s)
}

func ms(d time.Duration) int64 { return int64(d / time.Millisecond) }

func (o QueueOptions) args(qname string) map[string]interface{} {
	a := map[string]interface{}{"qname": qname}
	if o.VT != nil {
		a["vt"] = ms(*o.VT)
	}
	if o.Delay != nil {
		a["delay"] = ms(*o.Delay)
	}
	if o.MaxSize != nil {
		a["maxsize"] = *o.MaxSize
	}
	if o.MaxReceive != nil {
		a["maxReceive"] = *o.MaxReceive
	}
	if o.DeadLetter != nil {
		a["deadLetter"] = *o.DeadLetter
	}
	return a
}

func (w *WorkQueues) call(ctx context.Context, op string, args map[string]interface{}, wait time.Duration, out interface{}) error {
	raw, err := w.node.Call(ctx, op, args, wait)
	if err != nil {
		return err
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return errorf(ErrBadFrame, "the edge's %s answer: %v", op, err)
		}
	}
	return nil
}

// CreateQueue makes a queue; ErrQueueExists if it is there.
func (w *WorkQueues) CreateQueue(ctx context.Context, qname string, o QueueOptions) error {
	return w.call(ctx, "wq.create", o.args(qname), 0, nil)
}

// DeleteQueue drops a queue and its jobs.
func (w *WorkQueues) DeleteQueue(ctx context.Context, qname string) error {
	return w.call(ctx, "wq.drop", map[string]interface{}{"qname": qname}, 0, nil)
}

// ListQueues names every queue.
func (w *WorkQueues) ListQueues(ctx context.Context) ([]string, error) {
	var out struct{ Queues []string }
	err := w.call(ctx, "wq.list", map[string]interface{}{}, 0, &out)
	if out.Queues == nil {
		out.Queues = []string{}
	}
	return out.Queues, err
}

type attributesJSON struct {
	VT         int64  `json:"vt"`
	Delay      int64  `json:"delay"`
	MaxSize    int64  `json:"maxsize"`
	TotalRecv  int64  `json:"totalrecv"`
	TotalSent  int64  `json:"totalsent"`
	Created    int64  `json:"created"`
	Modified   int64  `json:"modified"`
	Msgs       int64  `json:"msgs"`
	HiddenMsgs int64  `json:"hiddenmsgs"`
	MaxReceive int64  `json:"maxReceive"`
	DeadLetter string `json:"deadLetter"`
	TotalDead  int64  `json:"totaldead"`
}

func (a attributesJSON) attributes() *QueueAttributes {
	return &QueueAttributes{VT: time.Duration(a.VT) * time.Millisecond, Delay: time.Duration(a.Delay) * time.Millisecond,
		MaxSize: a.MaxSize, TotalRecv: a.TotalRecv, TotalSent: a.TotalSent, Created: time.UnixMilli(a.Created),
		Modified: time.UnixMilli(a.Modified), Msgs: a.Msgs, HiddenMsgs: a.HiddenMsgs, MaxReceive: a.MaxReceive,
		DeadLetter: a.DeadLetter, TotalDead: a.TotalDead}
}

// GetQueueAttributes reports a queue's settings and counters.
func (w *WorkQueues) GetQueueAttributes(ctx context.Context, qname string) (*QueueAttributes, error) {
	var a attributesJSON
	if err := w.call(ctx, "wq.attributes", map[string]interface{}{"qname": qname}, 0, &a); err != nil {
		return nil, err
	}
	return a.attributes(), nil
}

// SetQueueAttributes changes the given settings and returns the attributes after it.
func (w *WorkQueues) SetQueueAttributes(ctx context.Context, qname string, changes QueueOptions) (*QueueAttributes, error) {
	var a attributesJSON
	if err := w.call(ctx, "wq.set", changes.args(qname), 0, &a); err != nil {
		return nil, err
	}
	return a.attributes(), nil
}

// SendMessage adds a job (hidden for delay, 0: the queue's delay) and returns its id.
func (w *WorkQueues) SendMessage(ctx context.Context, qname, message string, delay time.Duration) (string, error) {
	args := map[string]interface{}{"qname": qname, "message": message}
	if delay > 0 {
		args["delay"] = ms(delay)
	}
	var out struct{ ID string }
	err := w.call(ctx, "wq.send", args, 0, &out)
	return out.ID, err
}

type jobJSON struct {
	ID      string `json:"id"`
	Message string `json:"message"`
	RC      int64  `json:"rc"`
	FR      int64  `json:"fr"`
	Sent    int64  `json:"sent"`
}

func (j jobJSON) job() *Job {
	return &Job{ID: j.ID, Message: j.Message, RC: j.RC, First: time.UnixMilli(j.FR), Sent: time.UnixMilli(j.Sent)}
}

func (o ReceiveOptions) args(qname string) map[string]interface{} {
	args := map[string]interface{}{"qname": qname}
	if o.VT != nil {
		args["vt"] = ms(*o.VT)
	}
	if o.Wait > 0 {
		args["wait"] = ms(o.Wait)
	}
	return args
}

// ReceiveMessage receives a job, hidden from others for the visibility timeout; nil when
// none came within o.Wait.
func (w *WorkQueues) ReceiveMessage(ctx context.Context, qname string, o ReceiveOptions) (*Job, error) {
	var j jobJSON
	if err := w.call(ctx, "wq.receive", o.args(qname), o.Wait, &j); err != nil || j.ID == "" {
		return nil, err
	}
	return j.job(), nil
}

// PopMessage receives and deletes a job in one step; nil when none came within wait.
func (w *WorkQueues) PopMessage(ctx context.Context, qname string, wait time.Duration) (*Job, error) {
	var j jobJSON
	if err := w.call(ctx, "wq.pop", ReceiveOptions{Wait: wait}.args(qname), wait, &j); err != nil || j.ID == "" {
		return nil, err
	}
	return j.job(), nil
}

// DeleteMessage deletes a job: true if it was there, false if not (a retried delete).
func (w *WorkQueues) DeleteMessage(ctx context.Context, qname, id string) (bool, error) {
	var out struct{ Deleted bool }
	err := w.call(ctx, "wq.delete", map[string]interface{}{"qname": qname, "id": id}, 0, &out)
	return out.Deleted, err
}

// ChangeMessageVisibility hides a received job for vt from now.
func (w *WorkQueues) ChangeMessageVisibility(ctx context.Context, qname, id string, vt time.Duration) error {
	return w.call(ctx, "wq.visibility", map[string]interface{}{"qname": qname, "id": id, "vt": ms(vt)}, 0, nil)
}

func batchSize(what string, n int) error {
	if n > MaxBatch {
		return errorf(ErrBadOption, "%d %s in one batch; at most %d", n, what, MaxBatch)
	}
	return nil
}

// SendMessageBatch sends every message or none (the first error): their ids in order.
func (w *WorkQueues) SendMessageBatch(ctx context.Context, qname string, messages []string, delay time.Duration) ([]string, error) {
	if len(messages) == 0 {
		return []string{}, nil
	}
	if err := batchSize("messages", len(messages)); err != nil {
		return nil, err
	}
	args := map[string]interface{}{"qname": qname, "messages": messages}
	if delay > 0 {
		args["delay"] = ms(delay)
	}
	var out struct{ IDs []string }
	err := w.call(ctx, "wq.sendBatch", args, 0, &out)
	return out.IDs, err
}

// ReceiveMessageBatch receives up to max jobs, waiting up to o.Wait for the first.
func (w *WorkQueues) ReceiveMessageBatch(ctx context.Context, qname string, max int, o ReceiveOptions) ([]*Job, error) {
	if max <= 0 {
		return []*Job{}, nil
	}
	if err := batchSize("jobs", max); err != nil {
		return nil, err
	}
	args := o.args(qname)
	args["max"] = max
	var out struct{ Jobs []jobJSON }
	if err := w.call(ctx, "wq.receiveBatch", args, o.Wait, &out); err != nil {
		return nil, err
	}
	jobs := make([]*Job, 0, len(out.Jobs))
	for _, j := range out.Jobs {
		jobs = append(jobs, j.job())
	}
	return jobs, nil
}

// DeleteMessageBatch deletes each id; per id, whether it was there.
func (w *WorkQueues) DeleteMessageBatch(ctx context.Context, qname string, ids []string) ([]bool, error) {
	if len(ids) == 0 {
		return []bool{}, nil
	}
	if err := batchSize("ids", len(ids)); err != nil {
		return nil, err
	}
	var out struct{ Deleted []bool }
	err := w.call(ctx, "wq.deleteBatch", map[string]interface{}{"qname": qname, "ids": ids}, 0, &out)
	return out.Deleted, err
}
