# Shared build rules: warnings as errors everywhere, optional sanitizers, and
# helpers that keep each domain's CMakeLists.txt to a few lines.

add_compile_options(-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion -Werror)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # Boost.Asio trips these in GCC 12 with optimisation on; they are not our code.
  add_compile_options(-Wno-maybe-uninitialized -Wno-array-bounds -Wno-stringop-overflow)
endif()

if(ROOST_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    # clang 14 emits unassemblable prologue data for -fsanitize=function in C++20
    # coroutines ("Cannot represent a difference across sections"); the rest of
    # UBSan stays on.
    add_compile_options(-fno-sanitize=function)
  endif()
  add_link_options(-fsanitize=address,undefined)
endif()

# roost_library(<domain> [NO_FUZZ_COVERAGE] [PG_TESTS] DEPS <targets...> [TEST_DEPS <targets...>])
# Builds every *.cpp in the current directory except *_test.cpp into roost_<domain>,
# and every *_test.cpp into one GoogleTest binary roost_<domain>_test. PG_TESTS: some tests
# run on PostgreSQL too, on the run's shared throwaway server (src/storage/CMakeLists.txt).
function(roost_library domain)
  cmake_parse_arguments(ARG "NO_FUZZ_COVERAGE;PG_TESTS" "" "DEPS;TEST_DEPS" ${ARGN})
  file(GLOB all_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  set(lib_sources)
  set(test_sources)
  foreach(src IN LISTS all_sources)
    if(src MATCHES "_test\\.cpp$")
      list(APPEND test_sources ${src})
    else()
      list(APPEND lib_sources ${src})
    endif()
  endforeach()
  add_library(roost_${domain} STATIC ${lib_sources})
  target_include_directories(roost_${domain} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(roost_${domain} PUBLIC ${ARG_DEPS})
  if(ROOST_FUZZ AND NOT ARG_NO_FUZZ_COVERAGE)
    # Coverage feedback for libFuzzer in the libraries the fuzz targets exercise.
    target_compile_options(roost_${domain} PRIVATE -fsanitize=fuzzer-no-link)
  endif()
  if(test_sources)
    add_executable(roost_${domain}_test ${test_sources})
    target_link_libraries(roost_${domain}_test PRIVATE roost_${domain} ${ARG_TEST_DEPS}
                          GTest::gtest GTest::gtest_main Threads::Threads)
    target_compile_definitions(roost_${domain}_test PRIVATE
      ROOST_VECTORS_DIR="${PROJECT_SOURCE_DIR}/tests/vectors"
      ROOST_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
    if(ARG_PG_TESTS)
      target_link_libraries(roost_${domain}_test PRIVATE roost_storage_testing)
      gtest_discover_tests(roost_${domain}_test NO_PRETTY_VALUES DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit
        FIXTURES_REQUIRED roost_pg
        ENVIRONMENT "ROOST_TEST_PG_STATE=${PROJECT_BINARY_DIR}/src/storage/pg-fixture")
    else()
      gtest_discover_tests(roost_${domain}_test NO_PRETTY_VALUES DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit)
    endif()
  endif()
endfunction()
