package adashta

import (
	"os"
	"strconv"
	"strings"

	zmq "github.com/pebbe/zmq4"
)

// CURVE keys and the allow-list, read as the C++ mesh reads them (mesh/src/keys.cpp).

const z85Alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"

func isZ85Key(s string) bool {
	if len(s) != 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(z85Alphabet, rune(s[i])) {
			return false
		}
	}
	return true
}

type keyPair struct {
	public, secret string // Z85
}

func keyPairFromSecret(secret string) (keyPair, error) {
	if !isZ85Key(secret) {
		return keyPair{}, errorf(ErrBadKey, "a mesh secret key is 40 characters of Z85 (adashta keys new makes one)")
	}
	public, err := zmq.AuthCurvePublic(secret)
	if err != nil {
		return keyPair{}, errorf(ErrBadKey, "this ZeroMQ has no CURVE support: %v", err)
	}
	return keyPair{public: public, secret: secret}, nil
}

// loadKeyPair reads a CZMQ zcert file as `adashta keys new` writes it: given FILE, it reads
// FILE_secret beside it.
func loadKeyPair(path string) (keyPair, error) {
	file := path
	if !strings.HasSuffix(file, "_secret") {
		if _, err := os.Stat(file + "_secret"); err == nil {
			file += "_secret"
		}
	}
	text, err := os.ReadFile(file)
	if err != nil {
		return keyPair{}, errorf(ErrBadKey, "mesh key file %q cannot be read (%v); make one with: adashta keys new %s", file, err, path)
	}
	fields := zcertFields(string(text))
	pair := keyPair{public: fields["public-key"], secret: fields["secret-key"]}
	if !isZ85Key(pair.public) {
		return keyPair{}, errorf(ErrBadKey, "%q is not a key file written by adashta keys new (a CZMQ certificate)", file)
	}
	if !isZ85Key(pair.secret) || pair.secret == strings.Repeat("0", 40) {
		return keyPair{}, errorf(ErrBadKey, "%q holds only a public key; give the FILE_secret that adashta keys new wrote", file)
	}
	return pair, nil
}

// zcertFields reads the `name = "value"` lines of a zcert (ZPL) file.
func zcertFields(text string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") {
			continue
		}
		eq := strings.Index(line, "=")
		if eq < 0 {
			continue
		}
		value := strings.TrimSpace(line[eq+1:])
		if unquoted, err := strconv.Unquote(value); err == nil {
			value = unquoted
		} else if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = value[1 : len(value)-1] // Z85 holds characters Go's quoting treats specially
		}
		out[strings.TrimSpace(line[:eq])] = value
	}
	return out
}

type allowedKey struct {
	key              string
	edge, node, tool bool
	endpoint         string // where the member listens, if the line says
	name             string // the comment
}

func (k *allowedKey) may(role roleKind) bool {
	switch role {
	case roleEdge:
		return k.edge
	case roleNode:
		return k.node
	case roleTool:
		return k.tool
	}
	return false
}

func (k *allowedKey) roles() string {
	var r []string
	for _, x := range []struct {
		on    bool
		label string
	}{{k.edge, "edge"}, {k.node, "node"}, {k.tool, "tool"}} {
		if x.on {
			r = append(r, x.label)
		}
	}
	return strings.Join(r, ",")
}

type allowList map[string]*allowedKey // by Z85 key

func (a allowList) byEndpoint(endpoint string) *allowedKey {
	for _, k := range a {
		if k.endpoint != "" && k.endpoint == endpoint {
			return k
		}
	}
	return nil
}

// loadAllowList reads lines `KEY ROLES [tcp://HOST:PORT] [# NAME]`. A # starts a comment
// only at the start of a line or after white space: Z85 keys may hold # themselves.
func loadAllowList(path string) (allowList, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, errorf(ErrBadKey, "cannot read the mesh allow-list %q (one line per member: KEY ROLES [ENDPOINT] [# NAME]): %v", path, err)
	}
	list := allowList{}
	for n, line := range strings.Split(string(text), "\n") {
		at := path + ":" + strconv.Itoa(n+1) + ": "
		name := ""
		for i := 0; i < len(line); i++ {
			if line[i] == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t') {
				name = strings.TrimSpace(line[i+1:])
				line = line[:i]
				break
			}
		}
		words := strings.Fields(line)
		if len(words) == 0 {
			continue
		}
		if len(words) > 3 || len(words) < 2 {
			return nil, errorf(ErrBadKey, "%sexpected KEY ROLES [ENDPOINT] [# NAME], like \"<40 Z85 characters> node\"", at)
		}
		if !isZ85Key(words[0]) {
			return nil, errorf(ErrBadKey, "%s%q is not a public key (40 Z85 characters; adashta keys show FILE prints it)", at, words[0])
		}
		k := &allowedKey{key: words[0], name: name}
		for _, role := range strings.Split(words[1], ",") {
			switch role {
			case "edge":
				k.edge = true
			case "node":
				k.node = true
			case "tool":
				k.tool = true
			default:
				return nil, errorf(ErrBadKey, "%s%q is not a role; roles are edge, node and tool", at, role)
			}
		}
		if len(words) == 3 {
			endpoint, err := normalizeEndpoint(words[2])
			if err != nil || strings.HasSuffix(endpoint, ":*") {
				return nil, errorf(ErrBadKey, "%s%q is not an endpoint (tcp://HOST:PORT)", at, words[2])
			}
			k.endpoint = endpoint
		}
		if list[k.key] != nil {
			return nil, errorf(ErrBadKey, "%sthis key is listed twice", at)
		}
		list[k.key] = k
	}
	if len(list) == 0 {
		return nil, errorf(ErrBadKey, "%s: lists no key", path)
	}
	return list, nil
}

// splitSeed splits tcp://HOST:PORT|KEY.
func splitSeed(seed string) (endpoint, key string, err error) {
	bar := strings.IndexByte(seed, '|')
	if bar < 0 {
		return seed, "", nil
	}
	if !isZ85Key(seed[bar+1:]) {
		return "", "", errorf(ErrBadKey, "seed %q: the part after | must be the member's public key (40 Z85 characters)", seed)
	}
	return seed[:bar], seed[bar+1:], nil
}

// normalizeEndpoint makes tcp://HOST:PORT of HOST:PORT (port 0 becomes *).
func normalizeEndpoint(text string) (string, error) {
	rest := text
	if strings.HasPrefix(rest, "tcp://") {
		rest = rest[6:]
	} else if strings.Contains(rest, "://") {
		return "", errorf(ErrBadEndpoint, "%s: only tcp:// is supported", text)
	}
	colon := strings.LastIndexByte(rest, ':')
	if colon <= 0 {
		return "", errorf(ErrBadEndpoint, "%s: expected HOST:PORT", text)
	}
	port := rest[colon+1:]
	if port == "0" {
		port = "*"
	}
	if port != "*" {
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			return "", errorf(ErrBadEndpoint, "%s: port must be 0-65535 or *", text)
		}
	}
	return "tcp://" + rest[:colon] + ":" + port, nil
}
