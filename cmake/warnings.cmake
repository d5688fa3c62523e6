# Warnings and sanitizers for every target of ours (not for dependencies).
add_library(adashta_options INTERFACE)
target_compile_options(adashta_options INTERFACE -Wall -Wextra -Wpedantic -Wshadow
  -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual
  -Wimplicit-fallthrough
  -Wno-missing-field-initializers)  # designated initializers leave the rest defaulted on purpose
if(ADASHTA_WERROR)
  target_compile_options(adashta_options INTERFACE -Werror)
endif()
# GCC 12 at -O3 (the image's Release build) reports -Wrestrict on "x" + std::string, which
# cannot overlap (GCC bug 105329, fixed in 13): off for that compiler only; appending piece
# by piece avoided it in a few places, but every new concatenation met it again.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(adashta_options INTERFACE -Wno-restrict)
endif()
if(ADASHTA_SANITIZE)
  target_compile_options(adashta_options INTERFACE -fsanitize=address,undefined
    -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(adashta_options INTERFACE -fsanitize=address,undefined)
endif()
if(ADASHTA_FUZZ)
  # Coverage for libFuzzer in every target of ours; only the fuzz targets link its main.
  # -O1 over Debug's -O0: several times the executions per second, asserts still on.
  target_compile_options(adashta_options INTERFACE -fsanitize=fuzzer-no-link -O1)
endif()
