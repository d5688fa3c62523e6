# Turns proto/errors.json into adashta/errors.hpp (run with cmake -P).
# Inputs: IN (errors.json), OUT (header path).
file(READ "${IN}" json)
string(JSON count LENGTH "${json}" errors)
math(EXPR last "${count} - 1")
set(enum_lines "")
set(table_lines "")
foreach(i RANGE ${last})
  string(JSON code GET "${json}" errors ${i} code)
  string(JSON name GET "${json}" errors ${i} name)
  string(JSON message GET "${json}" errors ${i} message)
  string(JSON hint GET "${json}" errors ${i} hint)
  string(REPLACE "\\" "\\\\" message "${message}")
  string(REPLACE "\"" "\\\"" message "${message}")
  string(REPLACE "\\" "\\\\" hint "${hint}")
  string(REPLACE "\"" "\\\"" hint "${hint}")
  string(APPEND enum_lines "    ${name} = ${code},\n")
  string(APPEND table_lines "        {Errc::${name}, \"${name}\", \"${message}\", \"${hint}\"},\n")
endforeach()
file(WRITE "${OUT}.tmp" "// Generated from proto/errors.json by cmake/errors.cmake. Do not edit.
#pragma once
#include <string_view>

namespace adashta {

// Every error Adashta reports, with the same code in C++, JavaScript and Go.
enum class Errc : int {
    ok = 0,
${enum_lines}};

struct ErrorInfo {
    Errc code;                  // the number in frames and close codes
    std::string_view name;      // stable snake_case name
    std::string_view message;   // what happened
    std::string_view hint;      // what to do about it
};

// Looks up a code; unknown codes give a generic entry, never a crash.
constexpr ErrorInfo error_info(Errc code) {
    constexpr ErrorInfo table[] = {
        {Errc::ok, \"ok\", \"no error\", \"\"},
${table_lines}    };
    for (const auto& e : table)
        if (e.code == code) return e;
    return {code, \"unknown\", \"unknown error\", \"\"};
}

}  // namespace adashta
")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
