// Shared by the shim's C++ files (not part of the C API): DCMTK set-up that must happen once per process.
#pragma once

namespace i2dcm {
/// Registers DCMTK's decoders (RLE, JPEG, JPEG-LS) and silences its logger; idempotent and thread-safe.
void registerCodecs();
}
