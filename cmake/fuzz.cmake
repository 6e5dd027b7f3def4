# libFuzzer targets (tests/fuzz/fuzz_*.c), built when DUBAN_FUZZ is on with
# clang: each runs for DUBAN_FUZZ_SECONDS as a ctest test, starting from its
# committed corpus (tests/fuzz/corpus/<target>/), new inputs going to the
# build tree so the committed corpus is only read.
option(DUBAN_FUZZ "Build the libFuzzer targets (needs clang)" OFF)
set(DUBAN_FUZZ_SECONDS 20 CACHE STRING "How long each fuzz test runs")

if(DUBAN_FUZZ)
  set(FUZZ_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined)
  add_library(duban_fuzz_core STATIC ${MODEL_SOURCES})
  target_include_directories(duban_fuzz_core PUBLIC ${CMAKE_SOURCE_DIR})
  target_compile_options(duban_fuzz_core PUBLIC ${FUZZ_FLAGS} -fsanitize=fuzzer-no-link)
  target_link_libraries(duban_fuzz_core PUBLIC PkgConfig::DEPS Threads::Threads)
  file(GLOB FUZZ_TARGETS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_*.c)
  foreach(src ${FUZZ_TARGETS})
    get_filename_component(name ${src} NAME_WE)
    add_executable(${name} ${src})
    target_compile_options(${name} PRIVATE ${FUZZ_FLAGS} -fsanitize=fuzzer)
    target_link_options(${name} PRIVATE ${FUZZ_FLAGS} -fsanitize=fuzzer)
    target_link_libraries(${name} PRIVATE duban_fuzz_core)
    file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/corpus/${name})
    add_test(NAME fuzz.${name}
             COMMAND ${name} -max_total_time=${DUBAN_FUZZ_SECONDS} -max_len=65536 -timeout=10
                     ${CMAKE_BINARY_DIR}/corpus/${name} ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${name})
  endforeach()
endif()
