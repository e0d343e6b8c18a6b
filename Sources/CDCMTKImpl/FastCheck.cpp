// The differential check behind i2dcm_fast_check (tests only): the fast index (CDCMTK's FastHeader)
// against DCMTK's reading of the same file, element by element.
#include "FastHeader.hpp"
#include "Shim.hpp"

#include <cstdio>
#include <cstring>
#include <string>

namespace {

struct Checker {
    i2dcm::FastHeader &h;
    std::string report;
    int differences = 0;
    void differ(const std::string &what) {
        if (differences++ < 20) report += what + "\n";
    }
    static std::string shown(const std::string &v) {
        std::string out;
        for (unsigned char c : v.substr(0, 200)) {
            char b[8];
            if (c >= 32 && c < 127) out += (char)c; else { snprintf(b, sizeof b, "\\x%02x", c); out += b; }
        }
        return out;
    }
    static std::string name(uint32_t tag) {
        char b[16];
        snprintf(b, sizeof b, "(%04x,%04x)", tag >> 16, tag & 0xFFFF);
        return b;
    }
    /// Compares the children of fast container `node` (-1: the data set) with DCMTK's `container`.
    void compare(int node, DcmObject *container, const std::string &where) {
        int k = node < 0 ? (h.nodes.empty() ? -1 : 0) : h.nodes[node].firstChild;
        DcmObject *o = container->nextInContainer(nullptr);
        for (; k >= 0 && o; k = h.nodes[k].nextSibling, o = container->nextInContainer(o)) {
            const i2dcm::FastNode &n = h.nodes[k];
            const DcmTag &t = o->getTag();
            uint32_t tag = (uint32_t)t.getGroup() << 16 | t.getElement();
            std::string here = where + name(n.tag);
            if (n.tag != tag) { differ(here + ": DCMTK has " + name(tag) + " here"); return; }
            bool dcmtkSequence = o->ident() == EVR_SQ || o->ident() == EVR_item;
            if ((n.kind != i2dcm::FastNode::Leaf) != dcmtkSequence && !(n.tag == 0x7FE00010)) { differ(here + ": sequence in one reading only"); continue; }
            if (n.kind != i2dcm::FastNode::Leaf) { compare(k, o, here + "."); continue; }
            if (n.tag == 0x7FE00010 && node < 0) continue;   // pixel data: compared by layout
            std::string fast;
            if (h.text(k, fast)) {
                OFString value;
                if (i2dcm::elementText(OFstatic_cast(DcmElement *, o), value).bad()) { differ(here + ": DCMTK has no text"); continue; }
                std::string d(value.c_str(), value.length());
                if (d != fast) differ(here + " [" + h.vrOf(k) + "]: '" + shown(fast) + "' vs DCMTK '" + shown(d) + "'");
            }
            const uint8_t *bytes = nullptr;
            long count = 0;
            int got = h.bytes(k, &bytes, &count);
            Uint8 *d = nullptr;
            DcmElement *el = OFstatic_cast(DcmElement *, o);
            if (got == 1 && (el->getUint8Array(d).bad() || (long)el->getLength() != count || (count && memcmp(d, bytes, (size_t)count) != 0)))
                differ(here + ": bytes differ");
            if (got == 0 && el->getUint8Array(d).good()) differ(here + ": DCMTK has bytes");
        }
        if (k >= 0 || o) differ(where + ": element counts differ");
    }
};

}  // namespace

/// Opens `path` both ways and compares every element the fast index holds with DCMTK's reading:
/// -1 when the fast index does not take the file, else the number of differences (described in report).
extern "C" int i2dcmx_fast_check(const char *path, char *report, size_t reportlen) {
    i2dcm::registerCodecs();
    auto fast = i2dcm::FastHeader::open(path);
    if (!fast) return -1;
    DcmFileFormat ff;
    char err[256] = {0};
    if (i2dcm::openFile(ff, path, 4096, nullptr, err, sizeof err) != I2DCM_OK) {
        snprintf(report, reportlen, "DCMTK refuses a file the fast index takes: %s", err);
        return 1;
    }
    Checker c{*fast, "", 0};
    DcmDataset *ds = ff.getDataset();
    if (DcmXfer(ds->getOriginalXfer()).getXferID() != fast->transferSyntax) c.differ("transfer syntax differs");
    c.compare(-1, ds, "");
    snprintf(report, reportlen, "%s", c.report.c_str());
    return c.differences;
}
