# Helpers that give every target of ours the same flags: C++20, warnings as errors on our code
# only (dependencies come in through imported targets, hence -isystem), optional sanitizers.
# Never build for the host CPU only: kernels are compiled per ISA and dispatched at run time.

# -Wconversion: an implicit narrowing (int64 -> int, double -> float, float -> int) is where index
# and numeric bugs hide; every conversion in our code is written out.
set(RV_WARNINGS -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Wnon-virtual-dtor -Wcast-align -Wunused
                -Woverloaded-virtual -Wdouble-promotion -Wformat=2)
if(RV_WERROR)
  list(APPEND RV_WARNINGS -Werror)
endif()

function(rv_apply_flags target)
  target_compile_options(${target} PRIVATE ${RV_WARNINGS})
  target_include_directories(${target} PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>)
  if(RV_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-sanitize-recover=all
                                             -fno-omit-frame-pointer)
    target_link_options(${target} PUBLIC -fsanitize=address,undefined -fno-sanitize-recover=all)
  endif()
  if(RV_FUZZ)
    # Coverage instrumentation for libFuzzer plus ASan/UBSan; the driver itself (main) is linked
    # into the harnesses only (tests/fuzz/harness/CMakeLists.txt).
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link,address,undefined
                                             -fno-sanitize-recover=all -fno-omit-frame-pointer -g)
    target_link_options(${target} PUBLIC -fsanitize=address,undefined -fno-sanitize-recover=all)
  endif()
endfunction()

# rv_add_library(name SOURCES ... DEPS ...)
function(rv_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  if(NOT ARG_SOURCES)
    return()  # a layer with no sources yet
  endif()
  add_library(${name} STATIC ${ARG_SOURCES})
  rv_apply_flags(${name})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()

# rv_add_test(name SOURCES ... DEPS ...): one gtest binary, registered with CTest per test case.
function(rv_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  rv_apply_flags(${name})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE RV_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
                                             RV_BINARY_DIR="${PROJECT_BINARY_DIR}")
  gtest_discover_tests(${name} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR} DISCOVERY_TIMEOUT 60
                       PROPERTIES ENVIRONMENT "RV_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()

# rv_add_isa_sources(target sources...): adds per-ISA kernel sources to target, each compiled for
# its instruction set only (name suffix _avx2 / _avx512); the dispatch picks one at run time
# (vision/ops/dispatch.cpp), so the rest of the library keeps the baseline x86-64 flags.
# -ffp-contract=off: GCC would otherwise fuse a*b + c into an FMA where the kernel (and the
# reference it must match bit for bit, e.g. the lerp x·mu + xs·(1 − mu)) rounds twice; kernels
# that want an FMA call it explicitly.
# -Wno-maybe-uninitialized for AVX-512 only: GCC 12.2's own avx512fintrin.h trips it
# (_mm512_undefined_ps in the set1/mask intrinsics, GCC PR 105593); the same kernel code is built
# with the warning on in the scalar and AVX2 units.
function(rv_add_isa_sources target)
  foreach(src IN LISTS ARGN)
    if(src MATCHES "_avx512\\.cpp$")
      set(_flags -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx2 -mfma -ffp-contract=off
                 -Wno-maybe-uninitialized)
    elseif(src MATCHES "_avx2\\.cpp$")
      set(_flags -mavx2 -mfma -ffp-contract=off)
    else()
      message(FATAL_ERROR "rv_add_isa_sources: ${src} names no ISA (expected *_avx2.cpp or *_avx512.cpp)")
    endif()
    set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "${_flags}")
  endforeach()
  target_sources(${target} PRIVATE ${ARGN})
endfunction()
