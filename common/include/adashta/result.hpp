// Result<T>: a value or an Error the caller must look at.
//
//   Result<int> r = parse_port("8080");
//   if (!r) { std::cerr << r.error().to_string() << "\n"; return 1; }
//   use(*r);
//
// Expected runtime failures travel as Results; misuse of an internal API asserts.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

#include "adashta/errors.hpp"

namespace adashta {

struct Error {
    Errc code = Errc::ok;  // catalogue entry (proto/errors.json)
    std::string detail;    // what exactly was wrong, for the user

    // "name: message (detail) — hint", ready for a log line or a CLI error.
    std::string to_string() const {
        const ErrorInfo info = error_info(code);
        std::string out{info.name};
        out += ": ";
        out += info.message;
        if (!detail.empty()) {
            out += " (";
            out += detail;
            out += ")";
        }
        if (!info.hint.empty()) {
            out += "; ";
            out += info.hint;
        }
        return out;
    }
};

inline Error make_error(Errc code, std::string detail = {}) {
    return Error{code, std::move(detail)};
}

template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
    Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design

    explicit operator bool() const { return v_.index() == 0; }
    bool ok() const { return v_.index() == 0; }

    T& operator*() {
        assert(ok());
        return std::get<0>(v_);
    }
    const T& operator*() const {
        assert(ok());
        return std::get<0>(v_);
    }
    T* operator->() {
        assert(ok());
        return &std::get<0>(v_);
    }
    const T* operator->() const {
        assert(ok());
        return &std::get<0>(v_);
    }
    const Error& error() const {
        assert(!ok());
        return std::get<1>(v_);
    }

private:
    std::variant<T, Error> v_;  // the value, or why there is none
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design

    explicit operator bool() const { return error_.code == Errc::ok; }
    bool ok() const { return error_.code == Errc::ok; }
    const Error& error() const {
        assert(!ok());
        return error_;
    }

private:
    Error error_;  // code ok means success
};

using Status = Result<void>;

}  // namespace adashta
