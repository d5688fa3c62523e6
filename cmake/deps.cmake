# Dependencies, all from Debian's packages (scripts/setup.sh installs them).
find_package(PkgConfig REQUIRED)
pkg_check_modules(ZMQ REQUIRED IMPORTED_TARGET libzmq)
pkg_check_modules(CZMQ REQUIRED IMPORTED_TARGET libczmq)
pkg_check_modules(LWS REQUIRED IMPORTED_TARGET libwebsockets)
# libev (a dependency of libwebsockets-dev, no pkg-config file): the edge's epoll loop.
find_path(LIBEV_INCLUDE ev.h REQUIRED)
find_library(LIBEV_LIBRARY ev REQUIRED)
pkg_check_modules(SQLITE REQUIRED IMPORTED_TARGET sqlite3)
# Connection tokens (JWT, OpenSSL flavour) and the CSPRNG / HMAC behind session ids.
pkg_check_modules(JWT REQUIRED IMPORTED_TARGET libjwt)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
# The edge checks --tls-cert / --tls-key itself before libwebsockets (built with OpenSSL) loads them.
find_package(OpenSSL REQUIRED)
pkg_check_modules(LUA REQUIRED IMPORTED_TARGET lua5.4)
find_package(Threads REQUIRED)
find_program(FLATC flatc REQUIRED)
find_path(CPPZMQ_INCLUDE zmq.hpp REQUIRED)
find_path(CATCH2_INCLUDE catch2/catch.hpp)
find_program(NODE node)
