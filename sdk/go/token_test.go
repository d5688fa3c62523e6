package adashta_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/adashta/adashta-queue/sdk/go"
)

func TestMintedTokensVerify(t *testing.T) {
	key, err := adashta.HS256Key([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	token, err := adashta.MintToken(adashta.Claims{Subject: "bob", Expires: time.Now().Add(time.Minute), Produce: []string{"chat.*"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := adashta.VerifyToken(token, key)
	if err != nil || claims.Subject != "bob" || len(claims.Produce) != 1 || claims.Produce[0] != "chat.*" {
		t.Fatalf("VerifyToken: %+v %v", claims, err)
	}
	other, _ := adashta.HS256Key([]byte("another secret of at least 32 bytes!"))
	if _, err := adashta.VerifyToken(token, other); !errors.Is(err, adashta.ErrTokenInvalid) {
		t.Fatalf("another key: %v", err)
	}
	old, _ := adashta.MintToken(adashta.Claims{Subject: "bob", Expires: time.Now().Add(-time.Minute)}, key)
	if _, err := adashta.VerifyToken(old, key); !errors.Is(err, adashta.ErrTokenExpired) {
		t.Fatalf("an expired token: %v", err)
	}
	if _, err := adashta.HS256Key([]byte("short")); !errors.Is(err, adashta.ErrBadOption) {
		t.Fatalf("a short secret: %v", err)
	}
	unsigned := "eyJhbGciOiJub25lIn0.eyJzdWIiOiJib2IiLCJleHAiOjk5OTk5OTk5OTl9."
	if _, err := adashta.VerifyToken(unsigned, key); !errors.Is(err, adashta.ErrTokenInvalid) {
		t.Fatalf("alg none: %v", err)
	}
}

func TestTheEdgeRefusesATokenSignedWithAnotherSecret(t *testing.T) {
	edge := startEdge(t, "--auth", "required", "--token-secret", "0123456789abcdef0123456789abcdef")
	key, _ := adashta.HS256Key([]byte("not the edge's secret, 32+ bytes long"))
	token, _ := adashta.MintToken(adashta.Claims{Subject: "eve", Expires: time.Now().Add(time.Hour)}, key)
	if _, err := dial(t, edge, map[string]interface{}{"token": token}); err == nil {
		t.Fatal("the edge welcomed a token signed with another secret")
	}
	good, _ := adashta.HS256Key([]byte("0123456789abcdef0123456789abcdef"))
	token, _ = adashta.MintToken(adashta.Claims{Subject: "eve", Expires: time.Now().Add(time.Hour)}, good)
	if _, err := dial(t, edge, map[string]interface{}{"token": token}); err != nil {
		t.Fatalf("the edge refused a token minted with its secret: %v", err)
	}
}

func TestAnES256TokenMintedHereIsAcceptedByTheEdge(t *testing.T) {
	private, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalECPrivateKey(private)
	signer, err := adashta.TokenKeyFromPEM(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := x509.MarshalPKIXPublicKey(&private.PublicKey)
	publicPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
	path := filepath.Join(t.TempDir(), "token.pub")
	if err := os.WriteFile(path, publicPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	edge := startEdge(t, "--auth", "required", "--token-public-key", path)
	token, err := adashta.MintToken(adashta.Claims{Subject: "carol", Expires: time.Now().Add(time.Hour)}, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := dial(t, edge, map[string]interface{}{"token": token})
	if err != nil || c.user != "carol" {
		t.Fatalf("the edge and an ES256 token: %v", err)
	}
	verifier, err := adashta.TokenKeyFromPEM(publicPEM)
	if err != nil {
		t.Fatal(err)
	}
	if claims, err := adashta.VerifyToken(token, verifier); err != nil || claims.Subject != "carol" {
		t.Fatalf("VerifyToken with the public key: %+v %v", claims, err)
	}
	if _, err := adashta.MintToken(adashta.Claims{Subject: "x", Expires: time.Now().Add(time.Hour)}, verifier); !errors.Is(err, adashta.ErrBadOption) {
		t.Fatalf("minting with a public key: %v", err)
	}
}
