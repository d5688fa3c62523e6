// numbered("m", 7) == "m7": names for the messages and ids a test makes in a loop.
//
// Built by appending, not as `"m" + std::to_string(i)`: GCC 12 at -O2/-O3 warns falsely
// about that prepend (-Wrestrict, GCC bug 105329, fixed in GCC 13), and warnings are errors
// in the Release build too.
#pragma once

#include <string>
#include <string_view>

inline std::string numbered(std::string_view prefix, long long n) {
    std::string out{prefix};
    out += std::to_string(n);
    return out;
}
