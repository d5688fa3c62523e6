// Command gen writes the SDK's generated error values from the catalogue:
//
//	go run ./internal/gen -in ../../proto/errors.json -out errors_gen.go
//
// go generate runs it (see generate.go); the FlatBuffers code comes from flatc there too.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/adashta/adashta-queue/sdk/go/internal/errgen"
)

func main() {
	in := flag.String("in", "../../proto/errors.json", "the error catalogue")
	out := flag.String("out", "errors_gen.go", "the Go file to write")
	flag.Parse()
	text, err := os.ReadFile(*in)
	if err == nil {
		text, err = errgen.Generate(text)
	}
	if err == nil {
		err = os.WriteFile(*out, text, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
