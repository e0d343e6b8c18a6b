// Loads libi2dcmtk.so, i2's code on DCMTK (CDCMTKImpl), when the first call needs it: Debian's DCMTK
// libraries cost a process ~8 ms to load (DicomTables.cpp), which a conversion of plain files never
// needs. Looked for beside the executable (the build folder), then in ../lib/i2 (the installed layout,
// README "Install"); I2_DCMTK_LIBRARY names it explicitly.
#include "Library.hpp"

#include <atomic>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <dlfcn.h>
#include <mutex>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace i2dcm {

namespace {

std::vector<std::string> candidates() {
    if (const char *explicitPath = getenv("I2_DCMTK_LIBRARY"); explicitPath && *explicitPath) return {explicitPath};
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return {"libi2dcmtk.so"};
    std::string dir(exe, (size_t)n);
    dir = dir.substr(0, dir.rfind('/'));
    return {dir + "/libi2dcmtk.so", dir + "/../lib/i2/libi2dcmtk.so"};
}

[[noreturn]] void fail(const std::string &why) {
    fprintf(stderr, "i2: cannot load its DICOM library: %s; install libi2dcmtk.so with i2 (README: Install)\n", why.c_str());
    fflush(stderr);
    _exit(1);
}

struct Loaded {
    Library lib{};
    std::string error;   // empty when loaded
};

Loaded load() {
    Loaded out;
    std::string tried;
    void *handle = nullptr;
    for (const std::string &path : candidates()) {
        if ((handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL))) break;
        tried += (tried.empty() ? "" : "; ") + std::string(dlerror());
    }
    if (!handle) { out.error = tried; return out; }
    auto version = (int (*)(void))dlsym(handle, "i2dcmx_version");
    if (!version || version() != I2DCMTK_LIBRARY_VERSION) { out.error = "libi2dcmtk.so is from another build of i2"; return out; }
#define I2DCMTK_RESOLVE(ret, name, params, args)                                                   \
    out.lib.name = (ret(*) params)dlsym(handle, "i2dcmx_" #name);                                  \
    if (!out.lib.name) { out.error = "libi2dcmtk.so has no i2dcmx_" #name; return out; }
    I2DCMTK_FUNCTIONS(I2DCMTK_RESOLVE)
#undef I2DCMTK_RESOLVE
    return out;
}

/// The one load (thread-safe); its failure is reported by library(), at the use that needed it.
const Loaded &loaded() {
    static std::once_flag once;
    static Loaded result;
    std::call_once(once, [] { result = load(); });
    return result;
}

/// Whether i2dcm_prepare_environment ran: DCMTK's set-up then changes no environment variable.
std::atomic<bool> environmentFixed{false};

}  // namespace

const Library &library() {
    const Loaded &l = loaded();
    if (!l.error.empty()) fail(l.error);
    return l.lib;
}

void preload() {
    static std::once_flag once;
    std::call_once(once, [] {
        try {
            // The load and DCMTK's set-up (dictionary, codecs), whose environment is fixed at start-up
            // (i2dcm_prepare_environment) when a thread may run beside it.
            std::thread([] {
                const Loaded &l = loaded();
                if (l.error.empty() && environmentFixed) l.lib.set_up();
            }).detach();
        } catch (...) {
            // No thread to be had: the first use loads it as before.
        }
    });
}

}  // namespace i2dcm

extern "C" void i2dcm_preload(void) { i2dcm::preload(); }

extern "C" int i2dcm_prepare_environment(void) {
    i2dcm::environmentFixed = true;
    const char *path = getenv("DCMDICTPATH");
    if (path && *path) return 0;   // the user's: DCMTK loads it as usual (and i2 changes nothing)
    setenv("DCMDICTPATH", "/dev/null", 1);
    return 1;
}
