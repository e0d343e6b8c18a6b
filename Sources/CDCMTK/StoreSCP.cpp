// dcmnet: the storage SCP behind CDCMTKSCP.h. We own the listening socket and the accept loop;
// each connection gets a thread that waits until the complete A-ASSOCIATE-RQ has arrived (so a
// half-open or garbage connection never blocks anyone else), then hands the socket to DCMTK via
// dcmExternalSocketHandle (a process-wide setting, hence the short critical section around it).
#include "CDCMTKSCP.h"
#include "Shim.hpp"

#include <dcmtk/dcmnet/assoc.h>
#include <dcmtk/dcmnet/dimse.h>
#include <dcmtk/dcmnet/diutil.h>
#include <dcmtk/dcmnet/dul.h>
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
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Server {
    const i2dcm_scp_config *cfg;
    i2dcm_scp_store_fn store;
    i2dcm_scp_log_fn logfn;
    void *ctx;
    T_ASC_Network *net = nullptr;
    std::mutex handoff;                 // guards dcmExternalSocketHandle
    std::atomic<int> threads{0};        // connections being served (drained on stop)
    std::atomic<int> associations{0};   // negotiated associations (what --max-associations limits)
    std::atomic<unsigned long> counter{0};
    volatile int *stop;

    void log(int level, const std::string &msg) { if (logfn) logfn(ctx, level, msg.c_str()); }
};

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
bool awaitAssociateRQ(int fd, int timeoutSeconds, volatile int *stop, std::string &why) {
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
            if (head[0] != 0x01) { why = "not a DICOM association request (PDU type " + std::to_string(head[0]) + ")"; return false; }
            size_t len = ((size_t)head[2] << 24) | ((size_t)head[3] << 16) | ((size_t)head[4] << 8) | head[5];
            if (len > dcmAssociatePDUSizeLimit.get()) { why = "association request too large"; return false; }
            need = 6 + len;
            continue;
        }
        if ((size_t)n >= need) return true;
        if (closed) { why = "connection closed in the middle of an association request"; return false; }
        // Partial PDU: wait for more bytes (poll would return at once on the same data, so sleep briefly).
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
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

/// Receives one C-STORE data set and answers it.
bool handleStore(Server &s, T_ASC_Association *assoc, T_DIMSE_Message &msg, T_ASC_PresentationContextID presID,
                 const std::string &caller, const std::string &peer) {
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
    DcmOutputFileStream *stream = nullptr;
    OFCondition cond = EC_Normal;
    if (!lowSpace) cond = DIMSE_createFilestream(OFFilename(tmp), &req, assoc, presID, OFTrue, &stream);
    if (lowSpace || cond.bad() || !stream) {
        // Nothing can be stored: still read the data set off the wire, then say so.
        DcmDataset *discard = nullptr;
        cond = DIMSE_receiveDataSetInMemory(assoc, DIMSE_NONBLOCKING, s.cfg->dimse_timeout, &presID, &discard, nullptr, nullptr);
        delete discard;
        unlink(tmp);
        if (cond.bad()) { s.log(2, label + ": transfer of " + req.AffectedSOPInstanceUID + " failed: " + cond.text()); return false; }
        rsp.DimseStatus = STATUS_STORE_Refused_OutOfResources;
        comment = lowSpace ? "free space below the configured minimum" : std::string("cannot create file: ") + strerror(errno);
        s.log(2, label + ": C-STORE " + req.AffectedSOPInstanceUID + " answered with failure: " + comment);
    } else {
        cond = DIMSE_receiveDataSetInFile(assoc, DIMSE_NONBLOCKING, s.cfg->dimse_timeout, &presID, stream, nullptr, nullptr);
        OFCondition written = stream->status();
        delete stream;   // flushes and closes the file
        if (cond.bad()) {
            unlink(tmp);
            s.log(2, label + ": transfer of " + req.AffectedSOPInstanceUID + " failed: " + cond.text());
            return false;
        }
        if (written.bad()) {
            unlink(tmp);
            rsp.DimseStatus = STATUS_STORE_Refused_OutOfResources;
            comment = std::string("cannot write file: ") + written.text();
            s.log(2, label + ": C-STORE " + req.AffectedSOPInstanceUID + " answered with failure: " + comment);
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

void serveAssociation(Server &s, int fd) {
    std::string peer = peerName(fd);
    std::string why;
    if (!awaitAssociateRQ(fd, s.cfg->acse_timeout, s.stop, why)) {
        s.log(1, "connection from " + peer + " dropped: " + why);
        close(fd);
        return;
    }
    T_ASC_Association *assoc = nullptr;
    OFCondition cond;
    {
        std::lock_guard<std::mutex> lock(s.handoff);
        dcmExternalSocketHandle.set(fd);
        cond = ASC_receiveAssociation(s.net, &assoc, s.cfg->max_pdu, nullptr, nullptr, OFFalse, DUL_BLOCK, s.cfg->acse_timeout);
        dcmExternalSocketHandle.set(-1);
    }
    if (cond.bad() || !assoc) {
        s.log(1, "association request from " + peer + " failed: " + cond.text());
        if (assoc) { ASC_dropSCPAssociation(assoc); ASC_destroyAssociation(&assoc); } else { close(fd); }
        return;
    }
    std::string caller = assoc->params->DULparams.callingAPTitle;
    std::string called = assoc->params->DULparams.calledAPTitle;
    std::string label = caller + "@" + peer;

    bool allowed = s.cfg->allowed_count == 0;
    for (int i = 0; i < s.cfg->allowed_count; i++) if (caller == s.cfg->allowed_callers[i]) allowed = true;
    bool full = ++s.associations > s.cfg->max_associations;
    if (called != s.cfg->ae_title) {
        s.log(1, "rejected " + label + ": called AE title '" + called + "' is not ours ('" + s.cfg->ae_title + "'; AE titles are case-sensitive)");
        reject(assoc, ASC_RESULT_REJECTEDPERMANENT, ASC_SOURCE_SERVICEUSER, ASC_REASON_SU_CALLEDAETITLENOTRECOGNIZED);
    } else if (!allowed) {
        s.log(1, "rejected " + label + ": calling AE title '" + caller + "' is not on the allow-list");
        reject(assoc, ASC_RESULT_REJECTEDPERMANENT, ASC_SOURCE_SERVICEUSER, ASC_REASON_SU_CALLINGAETITLENOTRECOGNIZED);
    } else if (full) {
        s.log(1, "rejected " + label + ": already serving the maximum of " + std::to_string(s.cfg->max_associations) + " associations");
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
            s.log(1, "rejected " + label + ": it proposed no storage SOP class or transfer syntax we accept");
            reject(assoc, ASC_RESULT_REJECTEDPERMANENT, ASC_SOURCE_SERVICEUSER, ASC_REASON_SU_NOREASON);
        } else if (ASC_acknowledgeAssociation(assoc).good()) {
            s.log(0, "association from " + label);
            for (;;) {
                T_DIMSE_Message msg;
                T_ASC_PresentationContextID presID = 0;
                // Wait in one-second steps so a stop request ends an idle association at once; nothing
                // is in flight between commands, so an abort loses nothing.
                int waited = 0;
                do {
                    cond = DIMSE_receiveCommand(assoc, DIMSE_NONBLOCKING, 1, &presID, &msg, nullptr);
                } while (cond == DIMSE_NODATAAVAILABLE && !*s.stop && ++waited < s.cfg->idle_timeout);
                if (cond == DIMSE_NODATAAVAILABLE && *s.stop) {
                    // DCMTK's abort waits for the peer to close; stop reading so it returns at once.
                    s.log(0, label + ": stopping, closing the idle association");
                    shutdown(fd, SHUT_RD);
                    ASC_abortAssociation(assoc);
                    break;
                }
                if (cond == DUL_PEERREQUESTEDRELEASE) { ASC_acknowledgeRelease(assoc); s.log(0, "released " + label); break; }
                if (cond == DUL_PEERABORTEDASSOCIATION) { s.log(1, label + " aborted the association"); break; }
                if (cond == DIMSE_NODATAAVAILABLE) { s.log(1, label + ": idle timeout, aborting"); ASC_abortAssociation(assoc); break; }
                if (cond.bad()) { s.log(1, label + ": " + cond.text() + ", aborting"); ASC_abortAssociation(assoc); break; }
                if (msg.CommandField == DIMSE_C_ECHO_RQ) {
                    DIMSE_sendEchoResponse(assoc, presID, &msg.msg.CEchoRQ, STATUS_Success, nullptr);
                } else if (msg.CommandField == DIMSE_C_STORE_RQ) {
                    if (!handleStore(s, assoc, msg, presID, caller, peer)) { ASC_abortAssociation(assoc); break; }
                } else {
                    s.log(1, label + ": unsupported DIMSE command, aborting");
                    ASC_abortAssociation(assoc);
                    break;
                }
            }
        }
    }
    s.associations--;
    ASC_dropSCPAssociation(assoc);
    ASC_destroyAssociation(&assoc);
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

extern "C" int i2dcm_scp_run(const i2dcm_scp_config *cfg, i2dcm_scp_store_fn store, i2dcm_scp_log_fn logfn, void (*ready)(void *),
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
    if (ready) ready(ctx);
    while (!*stop) {
        pollfd p{lfd, POLLIN, 0};
        if (poll(&p, 1, 200) <= 0) continue;
        int fd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
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
