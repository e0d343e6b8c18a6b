// The executable's side of libi2dcmtk.so (DCMTKLibrary.h): its functions, loaded on first use.
#pragma once
#include "DCMTKLibrary.h"

namespace i2dcm {

struct Library {
#define I2DCMTK_POINTER(ret, name, params, args) ret(*name) params;
    I2DCMTK_FUNCTIONS(I2DCMTK_POINTER)
#undef I2DCMTK_POINTER
};

/// The library, loaded by the first call (thread-safe). Where it cannot be loaded (not installed beside
/// i2, or from another build), i2 stops with a message naming what it tried: every answer after that
/// would be a guess.
const Library &library();

/// Starts loading the library, and DCMTK's set-up, on a thread of its own, once: for a file that will
/// need DCMTK later (compressed pixel data to decode), so that the ~10 ms overlap with the rest of the
/// scan instead of following it. library() then waits for that load if it is still running; a load that fails is
/// reported there, by the use that needed it.
void preload();

}  // namespace i2dcm
