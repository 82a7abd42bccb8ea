// The stb implementation, in a file of its own so that it alone gets the compile options its
// code needs (CMakeLists.txt): -fwrapv everywhere, because the JPEG decoder's integer IDCT lets
// signed products overflow on hostile coefficients (fuzz_image found -63495 * 33924) and relies
// on two's-complement wrap-around, which -fwrapv makes defined; and, in the fuzz build, UBSan's
// checks off for what stb does by design (that wrap-around, a 0-byte memcpy from a null buffer
// for an empty PNG IDAT chunk, and a shift of its 32-bit JPEG bit buffer by 32 once a corrupt
// stream has used more bits than it read: stb 2.28 stops there; x86 and wasm shift by the count
// mod 32, so such a file decodes to wrong pixels; ASan still checks every access stb makes).
// Our own image code (image.cpp) stays fully sanitised.
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
