// The doctest entry point, shared by the native build and the wasm build (run under node).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
