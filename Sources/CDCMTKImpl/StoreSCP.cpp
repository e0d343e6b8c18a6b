// dcmnet: the storage SCP behind CDCMTKSCP.h. We own the listening socket and the accept loop;
// each connection gets a thread that waits until the complete A-ASSOCIATE-RQ has arrived (so a
// half-open or garbage connection never blocks anyone else), then hands the socket to DCMTK via
// dcmExternalSocketHandle (a process-wide setting, hence the short critical section around it).
// With TLS the handshake also runs on that thread, before the hand-off (TLS.hpp's HandshakenLayer),
// and the critical section ends as soon as DCMTK has taken the socket, so a client that stalls in
// the handshake or in its request holds only its own thread (until the --pdu-timeout watchdog).
#include "CDCMTKSCP.h"
#include "Shim.hpp"
#include "TLS.hpp"

#include <dcmtk/dcmnet/assoc.h>
#include <dcmtk/dcmnet/dimse.h>
#include <dcmtk/dcmnet/diutil.h>
#include <dcmtk/dcmnet/dul.h>
#include <dcmtk/dcmnet/dulstruc.h>
#include <dcmtk/dcmdata/dcostrmf.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <fcntl.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

/// One served connection, as the accept loop's watchdog and the association limits see it.
struct Connection {
    int fd = -1;
    std::string peer;                   // the peer's address (what --max-per-peer counts by)
    bool association = false;           // holds an association slot
    bool waiting = false;               // inside a DCMTK read: a PDU may be arriving
    bool inFlight = false;              // a command is being served (never evicted then)
    bool dropped = false;               // the watchdog or an eviction shut the socket down
    Clock::time_point progress;         // the last time a PDU completed (or the read started)
    Clock::time_point idleSince;        // the last time a command or data set finished
};

struct Server {
    const i2dcm_scp_config *cfg;
    i2dcm_scp_store_fn store;
    i2dcm_scp_log_fn logfn;
    void *ctx;
    T_ASC_Network *net = nullptr;
    i2dcm::HandshakenLayer *tls = nullptr;   // TLS only; owned by `net`
    std::mutex handoff;                 // guards dcmExternalSocketHandle
    std::atomic<int> threads{0};        // connections being served (drained on stop)
    std::atomic<unsigned long> counter{0};
    volatile int *stop;
    std::mutex lock;                    // guards `connections`
    std::map<unsigned long, Connection> connections;   // by connection number; forgotten before the socket closes
    std::atomic<unsigned long> connectionCounter{0};

    /// `peer`: the address a line concerns ("" for none), by which the caller rate-limits (a hostile peer
    /// must not flood the log).
    void log(int level, const std::string &peer, const std::string &msg) { if (logfn) logfn(ctx, level, peer.c_str(), msg.c_str()); }
    void log(int level, const std::string &msg) { log(level, "", msg); }
    void event(int kind, const char *reason = nullptr) { if (cfg->event) cfg->event(ctx, kind, reason); }

    unsigned long open(int fd, const std::string &peer) {
        std::lock_guard<std::mutex> g(lock);
        Connection c;
        c.fd = fd;
        c.peer = peer;
        c.progress = c.idleSince = Clock::now();
        unsigned long id = ++connectionCounter;
        connections[id] = c;
        return id;
    }
    /// Forgets a connection (and frees its slot at once). Called before its socket is closed, so the
    /// watchdog or an eviction never shuts down a descriptor number that was reused meanwhile.
    void forget(unsigned long id) { std::lock_guard<std::mutex> g(lock); connections.erase(id); }

    /// Takes an association slot for `fd`, or says why not. When every slot is taken, the association
    /// idle longest (nothing in flight, so nothing is lost) is aborted for the newcomer if it has been
    /// idle at least --evict-idle seconds: idle connections cannot lock senders out for the idle timeout.
    std::string acquire(unsigned long id) {
        std::lock_guard<std::mutex> g(lock);
        auto &me = connections[id];
        int total = 0, fromPeer = 0;
        for (auto &[other, c] : connections) if (c.association) { total++; if (c.peer == me.peer) fromPeer++; }
        if (cfg->max_per_peer > 0 && fromPeer >= cfg->max_per_peer)
            return "already serving the maximum of " + std::to_string(cfg->max_per_peer) + " associations from " + me.peer;
        if (total >= cfg->max_associations) {
            auto now = Clock::now();
            unsigned long victim = 0;
            Clock::time_point oldest = now;
            for (auto &[other, c] : connections)
                if (c.association && !c.dropped && !c.inFlight && c.idleSince < oldest &&
                    now - c.idleSince >= std::chrono::seconds(cfg->evict_idle)) { oldest = c.idleSince; victim = other; }
            if (cfg->evict_idle <= 0 || victim == 0)
                return "already serving the maximum of " + std::to_string(cfg->max_associations) + " associations";
            auto &v = connections[victim];
            v.association = false;
            v.dropped = true;
            ::shutdown(v.fd, SHUT_RDWR);   // its thread sees the error and cleans up
            log(1, v.peer, "evicted the association from " + v.peer + ", idle " +
                       std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now - oldest).count()) + " s, to serve a new one");
        }
        me.association = true;
        me.idleSince = Clock::now();
        return "";
    }
    /// False once the association was evicted or dropped by the watchdog.
    bool alive(unsigned long id) { std::lock_guard<std::mutex> g(lock); auto it = connections.find(id); return it != connections.end() && !it->second.dropped; }

    /// Around every read that waits for a PDU: the watchdog drops a connection whose PDU stalls.
    void reading(unsigned long id, bool on) {
        std::lock_guard<std::mutex> g(lock);
        auto it = connections.find(id);
        if (it == connections.end()) return;
        it->second.waiting = on;
        it->second.progress = Clock::now();
    }
    /// A command starts (true) or has been answered (false): the association is not idle meanwhile.
    void serving(unsigned long id, bool on) {
        std::lock_guard<std::mutex> g(lock);
        auto it = connections.find(id);
        if (it == connections.end()) return;
        it->second.inFlight = on;
        it->second.idleSince = Clock::now();
    }
    void progressed(unsigned long id) {
        std::lock_guard<std::mutex> g(lock);
        auto it = connections.find(id);
        if (it != connections.end()) it->second.progress = Clock::now();
    }
    /// Called by the accept loop: shuts down connections inside a read that made no progress (no PDU
    /// completed) for --pdu-timeout seconds, e.g. a peer dripping one byte at a time.
    void watchdog() {
        std::lock_guard<std::mutex> g(lock);
        auto now = Clock::now();
        for (auto &[id, c] : connections) {
            if (c.waiting && !c.dropped && now - c.progress > std::chrono::seconds(cfg->pdu_timeout)) {
                c.dropped = true;
                c.association = false;
                ::shutdown(c.fd, SHUT_RDWR);
                log(1, c.peer, "dropped the connection from " + c.peer + ": no complete PDU for " + std::to_string(cfg->pdu_timeout) + " s");
            }
        }
    }
};

struct ProgressContext { Server *s; unsigned long id; };
void onProgress(void *ctx, unsigned long) { auto *p = (ProgressContext *)ctx; p->s->progressed(p->id); }

const char *transferSyntaxes[] = {
    UID_LittleEndianExplicitTransferSyntax, UID_LittleEndianImplicitTransferSyntax,
    UID_BigEndianExplicitTransferSyntax, UID_DeflatedExplicitVRLittleEndianTransferSyntax,
    UID_JPEGProcess1TransferSyntax, UID_JPEGProcess2_4TransferSyntax, UID_JPEGProcess14TransferSyntax,
    UID_JPEGProcess14SV1TransferSyntax, UID_JPEGLSLosslessTransferSyntax, UID_JPEGLSLossyTransferSyntax,
    UID_JPEG2000LosslessOnlyTransferSyntax, UID_JPEG2000TransferSyntax, UID_RLELosslessTransferSyntax,
    UID_MPEG2MainProfileAtMainLevelTransferSyntax, UID_MPEG4HighProfileLevel4_1TransferSyntax,
    "1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203",  // HTJ2K
};

bool isStorageClass(const char *uid) {
    // Every storage SOP class lives under 1.2.840.10008.5.1.4.1.1 (PS3.4 B.5), including ones newer
    // than this DCMTK's tables; DCMTK's list adds the few that do not.
    if (strncmp(uid, "1.2.840.10008.5.1.4.1.1.", 24) == 0) return true;
    for (int i = 0; i < numberOfDcmAllStorageSOPClassUIDs; i++)
        if (strcmp(dcmAllStorageSOPClassUIDs[i], uid) == 0) return true;
    return false;
}

/// Waits until the first PDU on `fd` has fully arrived. False (with a reason) for timeouts, closed
/// connections and anything that is not an A-ASSOCIATE-RQ.
bool awaitAssociateRQ(int fd, int timeoutSeconds, volatile int *stop, std::string &why, std::vector<unsigned char> &pdu) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeoutSeconds);
    unsigned char head[6];
    size_t need = 6;
    for (;;) {
        long ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        if (ms <= 0) { why = "no association request within the ACSE timeout"; return false; }
        if (*stop) { why = "stopping"; return false; }
        pollfd p{fd, POLLIN | POLLRDHUP, 0};
        int r = poll(&p, 1, (int)std::min<long>(ms, 200));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) continue;
        bool closed = p.revents & (POLLRDHUP | POLLHUP | POLLERR);
        std::vector<unsigned char> buf(need);
        ssize_t n = recv(fd, buf.data(), need, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0) { why = "connection closed before an association request"; return false; }
        if (n < 0) { if (errno == EAGAIN || errno == EINTR) continue; why = strerror(errno); return false; }
        if (n >= 6 && need == 6) {
            memcpy(head, buf.data(), 6);
            if (head[0] == 0x16) { why = "it began a TLS handshake, and this port speaks plain TCP (i2 receive --tls serves TLS)"; return false; }
            if (head[0] != 0x01) { why = "not a DICOM association request (PDU type " + std::to_string(head[0]) + ")"; return false; }
            size_t len = ((size_t)head[2] << 24) | ((size_t)head[3] << 16) | ((size_t)head[4] << 8) | head[5];
            if (len > dcmAssociatePDUSizeLimit.get()) { why = "association request too large"; return false; }
            need = 6 + len;
            continue;
        }
        if ((size_t)n >= need) { pdu.assign(buf.begin(), buf.begin() + need); return true; }
        if (closed) { why = "connection closed in the middle of an association request"; return false; }
        // Partial PDU: wait for more bytes (poll would return at once on the same data, so sleep briefly).
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

/// With TLS: waits until the first byte has arrived and checks that it starts a TLS handshake (a
/// handshake record, 0x16), so a plain-TCP sender is named in the log instead of failing in OpenSSL.
bool awaitTLSHello(int fd, int timeoutSeconds, volatile int *stop, std::string &why) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeoutSeconds);
    for (;;) {
        long ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        if (ms <= 0) { why = "no TLS handshake within the ACSE timeout"; return false; }
        if (*stop) { why = "stopping"; return false; }
        pollfd p{fd, POLLIN, 0};
        int r = poll(&p, 1, (int)std::min<long>(ms, 200));
        if (r <= 0) continue;
        unsigned char first = 0;
        ssize_t n = recv(fd, &first, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0) { why = "connection closed before a TLS handshake"; return false; }
        if (n < 0) { if (errno == EAGAIN || errno == EINTR) continue; why = strerror(errno); return false; }
        if (first == 0x16) return true;
        why = first == 0x01 ? "it sent a plain-TCP association request to this TLS port (the sender must use TLS)"
                            : "not a TLS handshake (first byte " + std::to_string(first) + ")";
        return false;
    }
}

/// What DCMTK would choke on in an A-ASSOCIATE-RQ (PS3.8 9.3.2), checked before it sees the PDU: a
/// blank calling or called AE title, a presentation context without exactly one abstract syntax or
/// without a transfer syntax, a UID longer than 64 bytes, items overrunning their parent. Such requests
/// used to get no answer at all (connection and thread held for minutes). Empty when fine; else the
/// reason, with the A-ASSOCIATE-RJ reason to send (source: service user).
std::string checkAssociateRQ(const std::vector<unsigned char> &p, unsigned char &reason) {
    reason = 1;   // no reason given
    if (p.size() < 74) return "association request too short";
    auto blank = [&](size_t at) { for (size_t i = at; i < at + 16; i++) if (p[i] != ' ' && p[i] != 0) return false; return true; };
    if (blank(10)) { reason = 7; return "blank called AE title"; }
    if (blank(26)) { reason = 3; return "blank calling AE title"; }
    auto len16 = [&](size_t at) { return (size_t)p[at] << 8 | p[at + 1]; };
    size_t pos = 74;
    int contexts = 0;
    while (pos < p.size()) {
        if (pos + 4 > p.size()) return "truncated item";
        unsigned char type = p[pos];
        size_t len = len16(pos + 2), body = pos + 4, end = body + len;
        if (end > p.size()) return "item longer than the request";
        if (type == 0x10 && (len == 0 || len > 64)) return "application context name of " + std::to_string(len) + " bytes";
        if (type == 0x20) {
            contexts++;
            if (len < 4) return "truncated presentation context";
            int abstract = 0, transfer = 0;
            for (size_t q = body + 4; q < end;) {
                if (q + 4 > end) return "truncated presentation context sub-item";
                size_t l = len16(q + 2);
                if (q + 4 + l > end) return "presentation context sub-item overruns its context";
                if (p[q] == 0x30) abstract++;
                if (p[q] == 0x40) transfer++;
                if ((p[q] == 0x30 || p[q] == 0x40) && (l == 0 || l > 64))
                    return std::string(p[q] == 0x30 ? "abstract" : "transfer") + " syntax of " + std::to_string(l) + " bytes (a UID has 1 to 64)";
                q += 4 + l;
            }
            if (abstract != 1) return "presentation context with " + std::to_string(abstract) + " abstract syntaxes";
            if (transfer == 0) return "presentation context without a transfer syntax";
        }
        pos = end;
    }
    if (contexts == 0) return "no presentation context";
    return "";
}

/// Consumes the request (so closing does not reset the connection before the peer reads the answer),
/// sends A-ASSOCIATE-RJ (permanent, service user, `reason`) and closes.
void rejectRaw(int fd, size_t requestLength, unsigned char reason) {
    std::vector<unsigned char> sink(requestLength);
    size_t got = 0;
    while (got < requestLength) {
        ssize_t n = recv(fd, sink.data() + got, requestLength - got, MSG_DONTWAIT);
        if (n <= 0) break;
        got += (size_t)n;
    }
    const unsigned char rj[10] = {0x03, 0, 0, 0, 0, 4, 0, 1, 1, reason};
    (void)!send(fd, rj, sizeof rj, MSG_NOSIGNAL);
    shutdown(fd, SHUT_WR);
    // Let the peer read the answer and close first (briefly), so our close does not reset it away.
    pollfd p{fd, POLLIN | POLLRDHUP, 0};
    poll(&p, 1, 500);
    ::close(fd);
}

std::string peerName(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    char host[NI_MAXHOST] = "?";
    if (getpeername(fd, (sockaddr *)&ss, &len) == 0)
        getnameinfo((sockaddr *)&ss, len, host, sizeof host, nullptr, 0, NI_NUMERICHOST);
    return host;
}

void reject(T_ASC_Association *assoc, T_ASC_RejectParametersResult result, T_ASC_RejectParametersSource source,
            T_ASC_RejectParametersReason reason) {
    T_ASC_RejectParameters rej = {result, source, reason};
    ASC_rejectAssociation(assoc, &rej);
}

/// Where a received data set is streamed: a file that keeps consuming after a write error (disk full,
/// quota, I/O error) and remembers the first error. DCMTK's own file stream fails the transfer at the
/// first failed write and leaves the rest of the data set on the wire, so the association had to be
/// aborted; this way the data set is read to its end and the sender gets 0xA700 (README, i2-receive(1)).
class SpoolConsumer : public DcmConsumer {
public:
    explicit SpoolConsumer(int fd) : fd_(fd) {}
    OFBool good() const override { return OFTrue; }
    OFCondition status() const override { return EC_Normal; }
    OFBool isFlushed() const override { return OFTrue; }
    offile_off_t avail() const override { return 1 << 30; }
    offile_off_t write(const void *buf, offile_off_t n) override {
        const char *p = (const char *)buf;
        offile_off_t left = n;
        while (error == 0 && left > 0) {
            ssize_t w = ::write(fd_, p, (size_t)left);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) { error = w < 0 ? errno : ENOSPC; break; }
            p += w;
            left -= w;
        }
        return n;   // consumed either way
    }
    void flush() override {}
    int error = 0;
private:
    int fd_;
};

class SpoolStream : public DcmOutputStream {
public:
    explicit SpoolStream(int fd) : DcmOutputStream(&consumer), consumer(fd) {}
    SpoolConsumer consumer;
};

/// Receives one C-STORE data set and answers it.
bool handleStore(Server &s, T_ASC_Association *assoc, T_DIMSE_Message &msg, T_ASC_PresentationContextID presID,
                 const std::string &caller, const std::string &peer, unsigned long id) {
    const std::string label = caller + "@" + peer;
    T_DIMSE_C_StoreRQ &req = msg.msg.CStoreRQ;
    T_DIMSE_C_StoreRSP rsp;
    memset(&rsp, 0, sizeof rsp);
    rsp.MessageIDBeingRespondedTo = req.MessageID;
    OFStandard::strlcpy(rsp.AffectedSOPClassUID, req.AffectedSOPClassUID, sizeof rsp.AffectedSOPClassUID);
    OFStandard::strlcpy(rsp.AffectedSOPInstanceUID, req.AffectedSOPInstanceUID, sizeof rsp.AffectedSOPInstanceUID);
    rsp.opts = O_STORE_AFFECTEDSOPCLASSUID | O_STORE_AFFECTEDSOPINSTANCEUID;
    rsp.DataSetType = DIMSE_DATASET_NULL;

    std::string comment;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/.i2-%d-%lu.part", s.cfg->incoming_dir, (int)getpid(), s.counter.fetch_add(1));
    struct statvfs vfs;
    bool lowSpace = s.cfg->min_free_bytes > 0 && statvfs(s.cfg->incoming_dir, &vfs) == 0 &&
                    (uint64_t)vfs.f_bavail * vfs.f_frsize < s.cfg->min_free_bytes;
    // The file meta header first (DCMTK's, from the request and the association), then our own stream.
    DcmOutputFileStream *meta = nullptr;
    OFCondition cond = EC_Normal;
    int fd = -1, spoolError = 0;
    if (!lowSpace) {
        cond = DIMSE_createFilestream(OFFilename(tmp), &req, assoc, presID, OFTrue, &meta);
        if (cond.good() && meta) {
            OFCondition written = meta->status();
            delete meta;   // flushes and closes
            if (written.bad()) spoolError = ENOSPC;
            else if ((fd = open(tmp, O_WRONLY | O_APPEND | O_CLOEXEC)) < 0) spoolError = errno;
        } else {
            spoolError = errno ? errno : EIO;
        }
    }
    ProgressContext progress{&s, id};
    if (lowSpace || fd < 0) {
        // Nothing can be stored: still read the data set off the wire (unparsed, so a hostile one cannot
        // crash the parser), then say so. No progress callback here: not watched by --pdu-timeout, only
        // by --dimse-timeout per read.
        DIC_UL bytes = 0, pdvs = 0;
        cond = DIMSE_ignoreDataSet(assoc, DIMSE_NONBLOCKING, s.cfg->dimse_timeout, &bytes, &pdvs);
        unlink(tmp);
        if (cond.bad()) { s.log(2, peer, label + ": transfer of " + req.AffectedSOPInstanceUID + " failed: " + cond.text()); return false; }
        rsp.DimseStatus = STATUS_STORE_Refused_OutOfResources;
        comment = lowSpace ? "free space below the configured minimum" : std::string("cannot create file: ") + strerror(spoolError);
        s.event(I2DCM_SCP_INSTANCE_REFUSED, lowSpace ? "low_space" : "write_error");
        s.log(2, peer, label + ": C-STORE " + req.AffectedSOPInstanceUID + " answered with failure: " + comment);
    } else {
        SpoolStream *stream = new SpoolStream(fd);
        s.reading(id, true);   // each PDV received counts as progress (onProgress)
        cond = DIMSE_receiveDataSetInFile(assoc, DIMSE_NONBLOCKING, s.cfg->dimse_timeout, &presID, stream, onProgress, &progress);
        s.reading(id, false);
        stream->flush();
        int error = stream->consumer.error;
        delete stream;
        if (close(fd) != 0 && error == 0) error = errno;
        if (cond.bad()) {
            unlink(tmp);
            s.log(2, peer, label + ": transfer of " + req.AffectedSOPInstanceUID + " failed: " + cond.text());
            return false;
        }
        if (error != 0) {
            unlink(tmp);
            rsp.DimseStatus = STATUS_STORE_Refused_OutOfResources;
            comment = std::string("cannot write file: ") + strerror(error);
            s.event(I2DCM_SCP_INSTANCE_REFUSED, "write_error");
            s.log(2, peer, label + ": C-STORE " + req.AffectedSOPInstanceUID + " answered with failure: " + comment);
        } else {
            char buf[256] = "";
            rsp.DimseStatus = s.store(s.ctx, tmp, caller.c_str(), peer.c_str(), req.AffectedSOPClassUID,
                                      req.AffectedSOPInstanceUID, buf, sizeof buf);
            comment = buf;
        }
    }
    DcmDataset *detail = nullptr;
    if (rsp.DimseStatus != STATUS_Success && !comment.empty()) {
        detail = new DcmDataset();
        detail->putAndInsertString(DCM_ErrorComment, comment.substr(0, 64).c_str());
    }
    cond = DIMSE_sendStoreResponse(assoc, presID, &req, &rsp, detail);
    delete detail;
    return cond.good();
}

/// Why a command set fragment cannot be handed to DCMTK, or "". A command set (PS3.7 E.1) is a few
/// group 0000 elements of defined length, implicit VR: anything else, notably a sequence, is refused
/// here, because DCMTK parses the command set in memory, recursively: a command nested ~20,000 sequences
/// deep overflowed its stack and took the node down (issue 11). Data sets are not parsed while received
/// (streamed to a file, then checked by openFile's nesting bound).
std::string checkCommandFragment(const unsigned char *p, size_t n, bool last) {
    if (!last) return "a command set split over several PDVs (refused: a command set fits one)";
    for (size_t pos = 0; pos < n;) {
        if (pos + 8 > n) return "a truncated command element";
        unsigned group = p[pos] | p[pos + 1] << 8, element = p[pos + 2] | p[pos + 3] << 8;
        uint32_t len = (uint32_t)p[pos + 4] | (uint32_t)p[pos + 5] << 8 | (uint32_t)p[pos + 6] << 16 | (uint32_t)p[pos + 7] << 24;
        char tag[16];
        snprintf(tag, sizeof tag, "(%04X,%04X)", group, element);
        if (group != 0) return std::string("element ") + tag + " in a command set (only group 0000 belongs there)";
        if (len == 0xFFFFFFFFu || len > n - pos - 8) return std::string("command element ") + tag + " overruns the command set";
        pos += 8 + len;
    }
    return "";
}

/// Called before each DIMSE_receiveCommand: checks the command set DCMTK is about to parse, whether it
/// already sits in the PDU DCMTK holds (a PDV after the previous message's last one) or is the first PDV
/// of the next PDU on the socket (peeked, not consumed). 1: go on (something to read, checked); 0:
/// nothing arrived within a second; -1: refused, `why` says why.
int vetNextCommand(Server &s, T_ASC_Association *assoc, int fd, std::string &why) {
    auto *key = (PRIVATE_ASSOCIATIONKEY *)assoc->DULassociation;
    if (key && key->pdvIndex != -1) {   // DCMTK's next unprocessed PDV, already in memory
        const DUL_PDV &pdv = key->currentPDV;
        if (pdv.pdvType != DUL_COMMANDPDV) return 1;
        why = checkCommandFragment((const unsigned char *)pdv.data, pdv.fragmentLength, pdv.lastPDV);
        return why.empty() ? 1 : -1;
    }
    // Over TLS the socket carries ciphertext: DCMTK's read (with its one-second timeout) does the waiting.
    if (s.tls) return 1;
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, 1000);
    if (r == 0 || (r < 0 && errno == EINTR)) return 0;
    if (r < 0 || !(p.revents & POLLIN)) return 1;   // let DCMTK see the error or the closed connection
    // P-DATA-TF: type, reserved, length (4, big endian); first PDV: length (4), context id, control header.
    const size_t kMaxCommand = 64 * 1024;
    std::vector<unsigned char> head(12 + kMaxCommand);
    auto deadline = Clock::now() + std::chrono::seconds(std::max(s.cfg->dimse_timeout, 1));
    size_t need = 12;
    for (;;) {
        ssize_t n = recv(fd, head.data(), need, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0) return 1;
        if (n < 0 && errno != EAGAIN && errno != EINTR) return 1;
        if (n >= 1 && head[0] != 0x04) return 1;   // release, abort or garbage: DCMTK answers those
        if (n >= 12 && need == 12) {
            uint32_t pduLength = (uint32_t)head[2] << 24 | (uint32_t)head[3] << 16 | (uint32_t)head[4] << 8 | head[5];
            uint32_t pdvLength = (uint32_t)head[6] << 24 | (uint32_t)head[7] << 16 | (uint32_t)head[8] << 8 | head[9];
            if (!(head[11] & 1)) return 1;   // a data set fragment: streamed to a file, not parsed here
            if (pdvLength < 2 || pdvLength + 4 > pduLength) { why = "a malformed P-DATA-TF PDU"; return -1; }
            if (pdvLength - 2 > kMaxCommand) {
                why = "a command set of " + std::to_string(pdvLength - 2) + " bytes (refused: a command set is a few hundred)";
                return -1;
            }
            need = 12 + (pdvLength - 2);
            continue;
        }
        if (n >= 12 && (size_t)n >= need) {
            why = checkCommandFragment(head.data() + 12, need - 12, head[11] & 2);
            return why.empty() ? 1 : -1;
        }
        if (*s.stop || Clock::now() > deadline) return 1;   // DCMTK's own timeouts and the watchdog take over
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

/// Ends an association at once: without SHUT_RD first, DCMTK's abort waits for the peer to close
/// (up to the ACSE timeout), holding the thread and socket of a peer that already misbehaved.
void abortNow(Server &s, unsigned long id, T_ASC_Association *assoc, int fd) {
    s.forget(id);
    shutdown(fd, SHUT_RD);
    ASC_abortAssociation(assoc);
}

/// The hand-off's end, once DCMTK has taken the socket (TLS: inside ASC_receiveAssociation).
void handedOff(void *lock) {
    dcmExternalSocketHandle.set(-1);
    static_cast<std::unique_lock<std::mutex> *>(lock)->unlock();
}

void serveConnection(Server &s, unsigned long id, int fd, const std::string &peer) {
    std::string why;
    std::vector<unsigned char> pdu;
    DcmTransportConnection *session = nullptr;
    if (s.tls) {
        // The association request arrives encrypted: the raw checks below cannot read it, DCMTK parses it.
        bool hello = awaitTLSHello(fd, s.cfg->acse_timeout, s.stop, why);
        if (hello) {
            s.reading(id, true);   // the watchdog bounds a handshake that stalls
            session = s.tls->handshake(fd, why);
            s.reading(id, false);
        }
        if (!session) {
            s.log(1, peer, "TLS connection from " + peer + " refused: " + why);
            s.forget(id);
            close(fd);
            return;
        }
    } else if (!awaitAssociateRQ(fd, s.cfg->acse_timeout, s.stop, why, pdu)) {
        s.log(1, peer, "connection from " + peer + " dropped: " + why);
        s.forget(id);
        close(fd);
        return;
    }
    unsigned char reason = 1;
    std::string bad = s.tls ? "" : checkAssociateRQ(pdu, reason);
    if (!bad.empty()) {
        s.log(1, peer, "rejected the association request from " + peer + ": " + bad);
        s.event(I2DCM_SCP_ASSOCIATION_REJECTED, "malformed");
        s.forget(id);
        rejectRaw(fd, pdu.size(), reason);
        return;
    }
    T_ASC_Association *assoc = nullptr;
    OFCondition cond;
    {
        std::unique_lock<std::mutex> lock(s.handoff);
        dcmExternalSocketHandle.set(fd);
        if (session) {
            i2dcm::HandshakenLayer::prepare(session, handedOff, &lock);
            s.reading(id, true);   // the request may still be arriving
        }
        cond = ASC_receiveAssociation(s.net, &assoc, s.cfg->max_pdu, nullptr, nullptr, session ? OFTrue : OFFalse, DUL_BLOCK,
                                      s.cfg->acse_timeout);
        if (session) {
            s.reading(id, false);
            if (DcmTransportConnection *left = i2dcm::HandshakenLayer::unclaimed()) delete left;   // closes fd
        }
        if (lock.owns_lock()) dcmExternalSocketHandle.set(-1);
    }
    if (cond.bad() || !assoc) {
        s.log(1, peer, "association request from " + peer + " failed: " + cond.text());
        // A peer that resets right after its request fails DCMTK's getpeername before DCMTK wraps the
        // socket (a TCP initialisation error): then the socket is still ours to close, else one
        // descriptor leaked per such connection. Any later failure leaves it to DCMTK's drop.
        s.forget(id);
        // With TLS, the session (and the socket) is DCMTK's once it took it, else closed above.
        bool ours = !session && cond.module() == OFM_dcmnet && cond.code() == DULC_TCPINITERROR;
        if (assoc) { ASC_dropSCPAssociation(assoc); ASC_destroyAssociation(&assoc); }
        if (!session && (ours || !assoc)) close(fd);
        return;
    }
    std::string caller = assoc->params->DULparams.callingAPTitle;
    std::string called = assoc->params->DULparams.calledAPTitle;
    std::string label = caller + "@" + peer;

    bool allowed = s.cfg->allowed_count == 0;
    for (int i = 0; i < s.cfg->allowed_count; i++) if (caller == s.cfg->allowed_callers[i]) allowed = true;
    if (called != s.cfg->ae_title) {
        s.log(1, peer, "rejected " + label + ": called AE title '" + called + "' is not ours ('" + s.cfg->ae_title + "'; AE titles are case-sensitive)");
        s.event(I2DCM_SCP_ASSOCIATION_REJECTED, "called_ae");
        reject(assoc, ASC_RESULT_REJECTEDPERMANENT, ASC_SOURCE_SERVICEUSER, ASC_REASON_SU_CALLEDAETITLENOTRECOGNIZED);
    } else if (!allowed) {
        s.log(1, peer, "rejected " + label + ": calling AE title '" + caller + "' is not on the allow-list");
        s.event(I2DCM_SCP_ASSOCIATION_REJECTED, "calling_ae");
        reject(assoc, ASC_RESULT_REJECTEDPERMANENT, ASC_SOURCE_SERVICEUSER, ASC_REASON_SU_CALLINGAETITLENOTRECOGNIZED);
    } else if (std::string full = s.acquire(id); !full.empty()) {
        s.log(1, peer, "rejected " + label + ": " + full);
        s.event(I2DCM_SCP_ASSOCIATION_REJECTED, "limit");
        reject(assoc, ASC_RESULT_REJECTEDTRANSIENT, ASC_SOURCE_SERVICEPROVIDER_PRESENTATION_RELATED, ASC_REASON_SP_PRES_LOCALLIMITEXCEEDED);
    } else {
        // Accept verification and every storage SOP class, each in the first transfer syntax the caller
        // proposed that we know (stored as received, no transcoding).
        T_ASC_Parameters *params = assoc->params;
        int n = ASC_countPresentationContexts(params);
        for (int i = 0; i < n; i++) {
            T_ASC_PresentationContext pc;
            ASC_getPresentationContext(params, i, &pc);
            bool known = strcmp(pc.abstractSyntax, UID_VerificationSOPClass) == 0 || isStorageClass(pc.abstractSyntax);
            const char *chosen = nullptr;
            if (known) {
                for (int t = 0; t < pc.transferSyntaxCount && !chosen; t++)
                    for (const char *ts : transferSyntaxes)
                        if (strcmp(pc.proposedTransferSyntaxes[t], ts) == 0) { chosen = ts; break; }
            }
            if (chosen) ASC_acceptPresentationContext(params, pc.presentationContextID, chosen, ASC_SC_ROLE_DEFAULT);
            else ASC_refusePresentationContext(params, pc.presentationContextID,
                                               known ? ASC_P_TRANSFERSYNTAXESNOTSUPPORTED : ASC_P_ABSTRACTSYNTAXNOTSUPPORTED);
        }
        if (ASC_countAcceptedPresentationContexts(params) == 0) {
            s.forget(id);
            s.log(1, peer, "rejected " + label + ": it proposed no storage SOP class or transfer syntax we accept");
            s.event(I2DCM_SCP_ASSOCIATION_REJECTED, "no_presentation_context");
            reject(assoc, ASC_RESULT_REJECTEDPERMANENT, ASC_SOURCE_SERVICEUSER, ASC_REASON_SU_NOREASON);
        } else if (ASC_acknowledgeAssociation(assoc).good()) {
            s.log(0, peer, "association from " + label + (s.tls ? " over TLS" : ""));
            s.event(I2DCM_SCP_ASSOCIATION_ACCEPTED);
            for (;;) {
                T_DIMSE_Message msg;
                T_ASC_PresentationContextID presID = 0;
                // Wait in one-second steps so a stop request ends an idle association at once; nothing
                // is in flight between commands, so an abort loses nothing.
                int waited = 0;
                std::string refused;
                do {
                    s.reading(id, true);
                    int next = vetNextCommand(s, assoc, fd, refused);
                    if (next > 0) cond = DIMSE_receiveCommand(assoc, DIMSE_NONBLOCKING, 1, &presID, &msg, nullptr);
                    else cond = DIMSE_NODATAAVAILABLE;
                    s.reading(id, false);
                    if (next < 0) break;
                } while (cond == DIMSE_NODATAAVAILABLE && !*s.stop && ++waited < s.cfg->idle_timeout);
                if (!refused.empty()) {
                    s.log(1, peer, label + ": " + refused + ", aborting");
                    abortNow(s, id, assoc, fd);
                    break;
                }
                if (cond == DIMSE_NODATAAVAILABLE && *s.stop) {
                    s.log(0, peer, label + ": stopping, closing the idle association");
                    abortNow(s, id, assoc, fd);
                    break;
                }
                if (cond == DUL_PEERREQUESTEDRELEASE) { ASC_acknowledgeRelease(assoc); s.log(0, peer, "released " + label); break; }
                if (cond == DUL_PEERABORTEDASSOCIATION) { s.log(1, peer, label + " aborted the association"); break; }
                if (cond == DIMSE_NODATAAVAILABLE) { s.log(1, peer, label + ": idle timeout, aborting"); abortNow(s, id, assoc, fd); break; }
                if (cond.bad()) { s.log(1, peer, label + ": " + cond.text() + ", aborting"); abortNow(s, id, assoc, fd); break; }
                if (!s.alive(id)) { s.log(1, peer, label + ": evicted, aborting"); abortNow(s, id, assoc, fd); break; }
                s.serving(id, true);
                bool ok = true;
                if (msg.CommandField == DIMSE_C_ECHO_RQ) {
                    DIMSE_sendEchoResponse(assoc, presID, &msg.msg.CEchoRQ, STATUS_Success, nullptr);
                } else if (msg.CommandField == DIMSE_C_STORE_RQ) {
                    ok = handleStore(s, assoc, msg, presID, caller, peer, id);
                } else {
                    s.log(1, peer, label + ": unsupported DIMSE command, aborting");
                    ok = false;
                }
                s.serving(id, false);
                if (!ok) { abortNow(s, id, assoc, fd); break; }
            }
            s.event(I2DCM_SCP_ASSOCIATION_ENDED);
        }
    }
    s.forget(id);
    ASC_dropSCPAssociation(assoc);
    ASC_destroyAssociation(&assoc);
}

void serveAssociation(Server &s, int fd) {
    std::string peer = peerName(fd);
    unsigned long id = s.open(fd, peer);
    serveConnection(s, id, fd, peer);
    s.forget(id);
}

int listenOn(const char *address, int port, std::string &why) {
    addrinfo hints{}, *res = nullptr;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    std::string portText = std::to_string(port);
    const char *host = (address && *address) ? address : nullptr;
    if (int rc = getaddrinfo(host, portText.c_str(), &hints, &res)) { why = gai_strerror(rc); return -1; }
    int fd = -1;
    for (addrinfo *a = res; a; a = a->ai_next) {
        // Without an address, prefer IPv6 with dual stack so ::1 and 127.0.0.1 both work.
        if (!host && a->ai_family != AF_INET6 && res->ai_family == AF_INET6) continue;
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, 0);
        if (fd < 0) continue;
        int on = 1, off = 0;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
        if (a->ai_family == AF_INET6 && !host) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 64) == 0) break;
        why = strerror(errno);
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0 && why.empty()) why = "no usable address";
    return fd;
}

}  // namespace

extern "C" int i2dcmx_scp_run(const i2dcm_scp_config *cfg, i2dcm_scp_store_fn store, i2dcm_scp_log_fn logfn, void (*ready)(void *),
                         void *ctx, volatile int *stop, char *err, size_t errlen) {
    i2dcm::registerCodecs();   // also quiets DCMTK's logger: problems reach Swift through the log callback
    setenv("TCP_NODELAY", "1", 0);   // DCMTK leaves Nagle on otherwise: ~40 ms per C-STORE response
    dcmDisableGethostbyaddr.set(OFTrue);
    // Heap-allocated: threads still draining after we return keep using it (then it is leaked on purpose).
    Server &s = *new Server();
    s.cfg = cfg; s.store = store; s.logfn = logfn; s.ctx = ctx; s.stop = stop;
    std::string why;
    int lfd = listenOn(cfg->bind_address, cfg->port, why);
    if (lfd < 0) {
        std::string where = (cfg->bind_address && *cfg->bind_address) ? cfg->bind_address : "*";
        delete &s;
        return i2dcm::say(err, errlen, "cannot listen on " + where + " port " + std::to_string(cfg->port) + ": " + why, I2DCM_STORAGE);
    }
    // DCMTK needs an acceptor network object; its own listening socket (port 0) is never used.
    OFCondition cond = ASC_initializeNetwork(NET_ACCEPTOR, 0, cfg->acse_timeout, &s.net);
    if (cond.bad()) {
        close(lfd);
        delete &s;
        return i2dcm::say(err, errlen, std::string("cannot initialise DICOM network: ") + cond.text(), I2DCM_STORAGE);
    }
    if (cfg->tls) {
        DcmTLSTransportLayer *layer = i2dcm::makeTLSLayer(cfg->tls, true, why);
        if (!layer) {
            close(lfd);
            ASC_dropNetwork(&s.net);
            delete &s;
            return i2dcm::say(err, errlen, "TLS: " + why, I2DCM_BAD_INPUT);
        }
        s.tls = new i2dcm::HandshakenLayer(layer);
        ASC_setTransportLayer(s.net, s.tls, 1);
    }
    if (ready) ready(ctx);
    auto lastFdWarning = Clock::now() - std::chrono::hours(1);
    while (!*stop) {
        s.watchdog();
        pollfd p{lfd, POLLIN, 0};
        if (poll(&p, 1, 200) <= 0) continue;
        int fd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                // Out of descriptors: the pending connection stays queued and poll would wake at once
                // forever (a busy loop serving nobody). Say so (every 10 s at most) and back off; the
                // connections we serve close and free descriptors meanwhile.
                int e = errno;
                if (Clock::now() - lastFdWarning > std::chrono::seconds(10)) {
                    lastFdWarning = Clock::now();
                    s.log(2, std::string("cannot accept connections: ") + strerror(e) + " (" + std::to_string(s.threads.load()) +
                                 " connections open; raise the open-file limit, e.g. LimitNOFILE=, or lower --max-associations)");
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(250));
            }
            continue;
        }
        int on = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        s.threads++;
        std::thread([&s, fd] { serveAssociation(s, fd); s.threads--; }).detach();
    }
    close(lfd);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(cfg->drain_seconds);
    while (s.threads.load() > 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    int left = s.threads.load();
    if (left > 0) s.log(1, std::to_string(left) + " association(s) still open after the drain period; exiting");
    else { ASC_dropNetwork(&s.net); delete &s; }
    return I2DCM_OK;
}
