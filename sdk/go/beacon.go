package adashta

import (
	"context"
	"log"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// UDP beacons, as CZMQ's zbeacon sends them (the edge's and the C++ SDK's --beacon): every
// 500 ms the payload "ADASHTA1 <node id> <endpoint>[ <public key>]" goes to the broadcast
// address of one interface, on port 5670 by default, and what other members broadcast there
// is heard. Several members on one host share the port (SO_REUSEADDR, SO_REUSEPORT).
//
// Ownership: the beacon's goroutine owns its socket; what it hears goes to the mesh
// goroutine through mesh.post.

const beaconPrefix = "ADASHTA1 "

type beacon struct {
	conn      *net.UDPConn
	address   string       // the interface's IPv4 address
	broadcast *net.UDPAddr // where beacons go
}

// openBeacon listens on port of every address and finds iface's IPv4 and broadcast address.
func openBeacon(iface string, port int) (*beacon, error) {
	ifc, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, errorf(ErrBeaconFailed, "interface %q: %v", iface, err)
	}
	addrs, _ := ifc.Addrs()
	b := &beacon{}
	for _, a := range addrs {
		ipnet, ok := a.(*net.IPNet)
		if !ok || ipnet.IP.To4() == nil {
			continue
		}
		ip, mask := ipnet.IP.To4(), net.IP(ipnet.Mask).To4()
		if mask == nil {
			continue
		}
		bcast := make(net.IP, 4)
		for i := range bcast {
			bcast[i] = ip[i] | ^mask[i]
		}
		b.address = ip.String()
		b.broadcast = &net.UDPAddr{IP: bcast, Port: port}
		break
	}
	if b.broadcast == nil {
		return nil, errorf(ErrBeaconFailed, "interface %q has no IPv4 broadcast address", iface)
	}
	lc := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			for _, opt := range []int{syscall.SO_REUSEADDR, 0xf /* SO_REUSEPORT */, syscall.SO_BROADCAST} {
				if e := syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, opt, 1); e != nil && serr == nil {
					serr = e
				}
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	pc, err := lc.ListenPacket(context.Background(), "udp4", ":"+strconv.Itoa(port))
	if err != nil {
		return nil, errorf(ErrBeaconFailed, "UDP port %d: %v", port, err)
	}
	b.conn = pc.(*net.UDPConn)
	return b, nil
}

// run publishes payload every 500 ms and hands what it hears to heard, until stop closes.
func (b *beacon) run(payload string, heard func(from, payload string), stop <-chan struct{}) {
	go func() {
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			_, _ = b.conn.WriteToUDP([]byte(payload), b.broadcast)
			select {
			case <-tick.C:
			case <-stop:
				return
			}
		}
	}()
	buf := make([]byte, 512)
	for {
		n, from, err := b.conn.ReadFromUDP(buf)
		if err != nil {
			return // closed
		}
		if text := string(buf[:n]); strings.HasPrefix(text, beaconPrefix) {
			heard(from.IP.String(), text[len(beaconPrefix):])
		}
	}
}

// heardBeacon (mesh goroutine): dial the member a beacon announces, if it is new; with
// CURVE only members whose key is in the allow-list (the others are logged once per key).
func (m *mesh) heardBeacon(from, payload string) {
	fields := strings.Fields(payload)
	if len(fields) < 2 {
		return
	}
	id, key := fields[0], ""
	if len(fields) > 2 {
		key = fields[2]
	}
	endpoint, err := normalizeEndpoint(fields[1])
	if err != nil || id == m.id || endpoint == m.endpoint {
		return
	}
	if m.curve != nil {
		if m.allowed[key] == nil {
			if !m.ignoredBeacons[key] {
				m.ignoredBeacons[key] = true
				why := "key " + key + " is not in the allow-list"
				if key == "" {
					why = "they carry no key"
				}
				log.Printf("adashta: ignored beacons from %s (%s): %s", from, endpoint, why)
			}
			return
		}
		m.learnKey(endpoint, key, false)
	}
	if m.peers[id] == nil {
		m.want(endpoint, false)
	}
}
