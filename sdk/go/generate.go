package adashta

// The generated code is committed (go get fetches no build step); regenerate after a change
// of proto/mesh.fbs or proto/errors.json with `go generate` (needs flatc 2.0.8, Debian's
// flatbuffers-compiler). generated_test.go fails when the committed files are stale.
//go:generate flatc --go --go-namespace wire -o internal ../../proto/mesh.fbs
//go:generate go run ./internal/gen -in ../../proto/errors.json -out errors_gen.go
