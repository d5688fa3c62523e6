module github.com/adashta/adashta-queue/bench/apps/go

go 1.19

require github.com/adashta/adashta-queue/sdk/go v0.0.0

require (
	github.com/golang-jwt/jwt/v5 v5.2.2 // indirect
	github.com/google/flatbuffers v2.0.8+incompatible // indirect
	github.com/pebbe/zmq4 v1.4.0 // indirect
)

// The SDK of this checkout: the benchmark measures the code beside it.
replace github.com/adashta/adashta-queue/sdk/go => ../../../sdk/go
