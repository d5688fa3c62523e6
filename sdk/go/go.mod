module github.com/adashta/adashta-queue/sdk/go

go 1.19

require (
	github.com/coder/websocket v1.8.12
	github.com/golang-jwt/jwt/v5 v5.2.2
	github.com/google/flatbuffers v2.0.8+incompatible
	github.com/pebbe/zmq4 v1.4.0
)
