package adashta

import (
	"fmt"
	"log"
	"os"
	"strconv"
	"strings"
	"time"
)

// Options say how a node joins the mesh. The zero value joins an edge on
// tcp://127.0.0.1:7700; OptionsFromEnv fills them from ADASHTA_* variables.
type Options struct {
	Seeds           []string                    // edges or nodes to join (tcp://HOST:PORT, with CURVE optionally tcp://HOST:PORT|KEY); default tcp://127.0.0.1:7700 unless Beacon is set
	Bind            string                      // this node's ROUTER; default tcp://127.0.0.1:* (any free port)
	Advertise       string                      // the endpoint peers dial, when Bind is not it
	Name            string                      // a label shown by `adashta peers`
	Heartbeat       time.Duration               // heartbeat to peers; default 1 s
	PeerTimeout     time.Duration               // silence after which a peer is gone; default 3 s (at least 3 of the peer's heartbeats)
	Beacon          string                      // find peers by UDP beacon on this network interface (zbeacon-compatible); the mesh then listens on its address. Default off
	BeaconPort      int                         // the beacon's UDP port; default 5670
	Tool            bool                        // join as a short-lived tool (role Tool): edges never route clients to it
	MeshKey         string                      // CURVE: this node's key file (the FILE_secret of `adashta keys new`, or FILE beside it)
	MeshSecret      string                      // CURVE: or this node's Z85 secret key itself
	MeshAllow       string                      // CURVE: the allow-list of members' keys; both a key and this, or neither
	ConnectWait     time.Duration               // Connect waits this long for an edge when ctx has no deadline; default 10 s
	CallTimeout     time.Duration               // a call to an edge (fetch, work queues...) gives up after this plus its long-poll wait when ctx has no deadline; default 10 s
	OnError         func(err error, m *Message) // a handler failed (error or panic); default: log.Printf. Called on the handler's goroutine
	OnConnection    func(ClientEvent)           // a browser client connected to an edge (in the order the node saw them)
	OnDisconnection func(ClientEvent)           // a browser client left

	envError string // what OptionsFromEnv could not read; Connect reports it as ErrBadOption
}

// OptionsFromEnv returns the defaults overridden by ADASHTA_SEEDS (comma-separated),
// ADASHTA_BIND, ADASHTA_ADVERTISE, ADASHTA_BEACON, ADASHTA_BEACON_PORT, ADASHTA_NAME,
// ADASHTA_HEARTBEAT_MS, ADASHTA_PEER_TIMEOUT_MS, ADASHTA_MESH_KEY, ADASHTA_MESH_SECRET and
// ADASHTA_MESH_ALLOW, as the C++ SDK reads them. A malformed number makes Connect fail
// with ErrBadOption. Set fields after the call to override the environment:
//
//	opts := adashta.OptionsFromEnv()
//	opts.Name = "billing"
//	node, err := adashta.Connect(ctx, opts)
func OptionsFromEnv() Options {
	var o Options
	if v := os.Getenv("ADASHTA_SEEDS"); v != "" {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				o.Seeds = append(o.Seeds, s)
			}
		}
	}
	o.Bind = os.Getenv("ADASHTA_BIND")
	o.Advertise = os.Getenv("ADASHTA_ADVERTISE")
	o.Beacon = os.Getenv("ADASHTA_BEACON")
	o.Name = os.Getenv("ADASHTA_NAME")
	o.MeshKey = os.Getenv("ADASHTA_MESH_KEY")
	o.MeshSecret = os.Getenv("ADASHTA_MESH_SECRET")
	o.MeshAllow = os.Getenv("ADASHTA_MESH_ALLOW")
	number := func(name string, max int64) int64 {
		v := os.Getenv(name)
		if v == "" {
			return 0
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 || n > max {
			o.envError = fmt.Sprintf("%s=%s is not a number from 1 to %d", name, v, max)
			return 0
		}
		return n
	}
	o.BeaconPort = int(number("ADASHTA_BEACON_PORT", 65535))
	o.Heartbeat = time.Duration(number("ADASHTA_HEARTBEAT_MS", 3600000)) * time.Millisecond
	o.PeerTimeout = time.Duration(number("ADASHTA_PEER_TIMEOUT_MS", 3600000)) * time.Millisecond
	return o
}

// withDefaults fills what the caller left zero.
func (o Options) withDefaults() Options {
	if len(o.Seeds) == 0 && o.Beacon == "" { // with a beacon, members meet by beacon alone
		o.Seeds = []string{"tcp://127.0.0.1:7700"}
	}
	if o.Bind == "" {
		o.Bind = "tcp://127.0.0.1:*"
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = time.Second
	}
	if o.PeerTimeout <= 0 {
		o.PeerTimeout = 3 * time.Second
	}
	if o.ConnectWait <= 0 {
		o.ConnectWait = 10 * time.Second
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = 10 * time.Second
	}
	if o.OnError == nil {
		o.OnError = func(err error, m *Message) {
			var stack []byte
			if p, ok := err.(*PanicError); ok {
				stack = p.Stack
			}
			if m != nil {
				log.Printf("adashta: handler for %s failed on message %s (it comes again): %v\n%s", m.Queue, m.ID, err, stack)
			} else {
				log.Printf("adashta: %v", err)
			}
		}
	}
	return o
}
