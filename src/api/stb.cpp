// The stb implementation, in a file of its own so that it alone gets the compile options its
// code needs (CMakeLists.txt): -fwrapv everywhere, because the JPEG decoder's integer IDCT lets
// signed products overflow on hostile coefficients (fuzz_image found -63495 * 33924) and relies
// on two's-complement wrap-around, which -fwrapv makes defined; and, in the fuzz build, UBSan's
// checks off for what stb does by design (that wrap-around, a 0-byte memcpy from a null buffer
// for an empty PNG IDAT chunk). Our own image code (image.cpp) stays fully sanitised.
// stb's allocations are zeroed: its JPEG decoder keeps Huffman tables in malloc'd state that a
// hostile file can use before defining (image.cpp refuses the case it knows; zeroing makes any
// other such read deterministic, the same on every run, so a fuzzer's find reproduces).
#include <cstdlib>
#define STBI_MALLOC(size) std::calloc(1, size)
#define STBI_REALLOC(p, size) std::realloc(p, size)
#define STBI_FREE(p) std::free(p)
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include "api/stb.h"
