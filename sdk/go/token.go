package adashta

import (
	"crypto/elliptic"
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Connection tokens: the JWTs a browser presents in hello, as the edge checks them
// (docs/protocol.md section 1.1). An application's server mints one per user:
//
//	key, _ := adashta.HS256Key([]byte(os.Getenv("ADASHTA_TOKEN_SECRET")))   // the edge's --token-secret
//	token, _ := adashta.MintToken(adashta.Claims{Subject: "alice", Expires: time.Now().Add(time.Hour),
//		Produce: []string{"chat.*"}, Consume: []string{"chat.*", "user.alice"}}, key)

// Claims are a token's contents: the user, the expiry, and the queues the client may use
// as patterns where * matches any run of characters.
type Claims struct {
	Subject string    // sub: the user (required)
	Expires time.Time // exp (required), second precision
	Produce []string  // queues the client may produce to
	Consume []string  // queues it may consume (live messages and resume)
	Fetch   []string  // queues it may fetch
}

// TokenKey signs or verifies tokens with one algorithm: HS256 (a shared secret), RS256 or
// ES256 (P-256). A public key only verifies.
type TokenKey struct {
	method jwt.SigningMethod
	sign   interface{} // nil for a public key
	verify interface{}
}

// HS256Key is the edge's --token-secret: at least 32 bytes.
func HS256Key(secret []byte) (TokenKey, error) {
	if len(secret) < 32 {
		return TokenKey{}, errorf(ErrBadOption, "an HS256 token secret needs at least 32 bytes, got %d (make one with: openssl rand -hex 32)", len(secret))
	}
	s := append([]byte(nil), secret...)
	return TokenKey{method: jwt.SigningMethodHS256, sign: s, verify: s}, nil
}

// TokenKeyFromPEM reads an RSA or EC P-256 key, private (signs and verifies) or public
// (verifies: the edge's --token-public-key).
func TokenKeyFromPEM(pem []byte) (TokenKey, error) {
	if k, err := jwt.ParseRSAPrivateKeyFromPEM(pem); err == nil {
		return TokenKey{method: jwt.SigningMethodRS256, sign: k, verify: &k.PublicKey}, nil
	}
	if k, err := jwt.ParseECPrivateKeyFromPEM(pem); err == nil {
		if k.Curve != elliptic.P256() {
			return TokenKey{}, errorf(ErrBadOption, "an ES256 key must be on P-256")
		}
		return TokenKey{method: jwt.SigningMethodES256, sign: k, verify: &k.PublicKey}, nil
	}
	if k, err := jwt.ParseRSAPublicKeyFromPEM(pem); err == nil {
		return TokenKey{method: jwt.SigningMethodRS256, verify: k}, nil
	}
	if k, err := jwt.ParseECPublicKeyFromPEM(pem); err == nil {
		return TokenKey{method: jwt.SigningMethodES256, verify: k}, nil
	}
	return TokenKey{}, errorf(ErrBadOption, "holds no PEM key (want an RSA or EC P-256 key, private or public)")
}

type tokenClaims struct {
	jwt.RegisteredClaims
	Produce []string `json:"produce,omitempty"`
	Consume []string `json:"consume,omitempty"`
	Fetch   []string `json:"fetch,omitempty"`
}

// MintToken signs claims with key. ErrBadOption without a subject, expiry or signing key.
func MintToken(c Claims, key TokenKey) (string, error) {
	if c.Subject == "" {
		return "", errorf(ErrBadOption, "a token needs a subject")
	}
	if c.Expires.IsZero() {
		return "", errorf(ErrBadOption, "a token needs an expiry")
	}
	if key.sign == nil {
		return "", errorf(ErrBadOption, "cannot sign with a public key; give the private one")
	}
	claims := tokenClaims{RegisteredClaims: jwt.RegisteredClaims{Subject: c.Subject, ExpiresAt: jwt.NewNumericDate(c.Expires)},
		Produce: c.Produce, Consume: c.Consume, Fetch: c.Fetch}
	return jwt.NewWithClaims(key.method, claims).SignedString(key.sign)
}

// VerifyToken checks a token as the edge does: signed by key with key's algorithm (none
// and others are refused), with sub and exp, not expired. ErrTokenInvalid or
// ErrTokenExpired with a detail that says what was wrong.
func VerifyToken(token string, key TokenKey) (*Claims, error) {
	if len(token) > 8192 {
		return nil, errorf(ErrTokenInvalid, "the token is longer than 8192 bytes")
	}
	var c tokenClaims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (interface{}, error) { return key.verify, nil },
		jwt.WithValidMethods([]string{key.method.Alg()}), jwt.WithExpirationRequired())
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, errorf(ErrTokenExpired, "expired at %v", c.ExpiresAt)
	case err != nil:
		return nil, errorf(ErrTokenInvalid, "%v", err)
	case c.Subject == "":
		return nil, errorf(ErrTokenInvalid, "no \"sub\" (the user) in the token")
	}
	return &Claims{Subject: c.Subject, Expires: c.ExpiresAt.Time, Produce: c.Produce, Consume: c.Consume, Fetch: c.Fetch}, nil
}
