// The executable's data set handle behind CDCMTK.h's opaque i2dcm_file: the fast index of a plain file
// (CDCMTK's FastHeader), and DCMTK's reading of it (libi2dcmtk.so) once a query needs one.
#pragma once
#include "FastHeader.hpp"
#include "Library.hpp"

#include <memory>
#include <string>

struct i2dcm_file {
    std::unique_ptr<i2dcm::FastHeader> fast;
    std::string path;
    /// DCMTK's data set: read on first use for a file with a fast index, else from the start.
    i2dcmx_file *dcm();
    /// Before anything changes the data set: from then on DCMTK answers everything.
    void changing() {
        dcm();
        fast.reset();
    }
    i2dcm_file() = default;
    explicit i2dcm_file(i2dcmx_file *d) : d(d) {}
    i2dcm_file(const i2dcm_file &) = delete;
    i2dcm_file &operator=(const i2dcm_file &) = delete;
    ~i2dcm_file() { if (d) i2dcm::library().free(d); }

private:
    i2dcmx_file *d = nullptr;
};
