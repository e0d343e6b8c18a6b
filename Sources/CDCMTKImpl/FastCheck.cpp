// The differential check behind i2dcm_fast_check (tests only): the fast index (CDCMTK's FastHeader)
// against DCMTK's reading of the same file, element by element.
#include "FastHeader.hpp"
#include "Shim.hpp"

#include "CDCMTKSegRead.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

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

    /// A SEG's per-frame and per-segment arrays as the index gives them (when it answers) and as DCMTK's walk does.
    void compareSeg(DcmDataset *ds) {
        int perFrame = h.top(0x52009230), segments = h.top(0x00620002);
        if (perFrame < 0 && segments < 0) return;
        int frames = perFrame >= 0 && h.nodes[perFrame].kind == i2dcm::FastNode::Sequence ? (int)h.itemCount(perFrame) : 1;
        struct Frames {
            std::vector<int32_t> segment, count;
            std::vector<double> position;
            std::vector<char> uids;
            std::vector<uint32_t> index;
            explicit Frames(int n) : segment(n), count(n), position(3 * n), uids((size_t)n * I2DCM_UID_SLOT), index((size_t)n * I2DCM_MAX_INDEX) {}
            bool operator==(const Frames &o) const {
                for (size_t i = 0; i < position.size(); i++)
                    if (!(position[i] == o.position[i] || (std::isnan(position[i]) && std::isnan(o.position[i])))) return false;
                for (size_t i = 0; i < segment.size(); i++)
                    if (strcmp(&uids[i * I2DCM_UID_SLOT], &o.uids[i * I2DCM_UID_SLOT]) != 0 ||
                        memcmp(&index[i * I2DCM_MAX_INDEX], &o.index[i * I2DCM_MAX_INDEX], (size_t)count[i] * 4) != 0) return false;
                return segment == o.segment && count == o.count;
            }
        } fast(frames), slow(frames);
        int fastItems = 0;
        char err[256];
        if (i2dcm::fastSegFrames(h, frames, fast.segment.data(), fast.position.data(), fast.uids.data(), fast.index.data(), fast.count.data(), fastItems)) {
            int items = i2dcm::segFrames(ds, frames, slow.segment.data(), slow.position.data(), slow.uids.data(), slow.index.data(), slow.count.data(), err, sizeof err);
            if (items != fastItems || !(fast == slow)) differ("SEG per-frame arrays differ from DCMTK's");
        }
        int n = segments >= 0 && h.nodes[segments].kind == i2dcm::FastNode::Sequence ? (int)h.itemCount(segments) : 0;
        std::vector<int32_t> fastNumber(n), slowNumber(n);
        std::vector<int64_t> fastLabel(n), slowLabel(n);
        int fastCount = 0;
        if (i2dcm::fastSegSegments(h, n, fastNumber.data(), fastLabel.data(), fastCount) &&
            (i2dcm::segSegments(ds, n, slowNumber.data(), slowLabel.data()) != fastCount || fastNumber != slowNumber || fastLabel != slowLabel))
            differ("SEG segment numbers or original labels differ from DCMTK's");
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
    c.compareSeg(ds);
    snprintf(report, reportlen, "%s", c.report.c_str());
    return c.differences;
}
