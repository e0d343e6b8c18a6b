// dcmnet: the SCU behind CDCMTKSCU.h (C-STORE, C-ECHO, C-FIND). One association carries many
// C-STOREs; each file is parsed once (planning reads only its meta header) and sent as is, or decoded
// to an uncompressed syntax when the peer refused the original one. The socket-level details (cork, quick ACK, abort
// without waiting) are what make a batch as fast as the peer allows.
#include "CDCMTKSCU.h"
#include "Shim.hpp"
#include "TLS.hpp"

#include <dcmtk/dcmnet/assoc.h>
#include <dcmtk/dcmnet/dimse.h>
#include <dcmtk/dcmnet/diutil.h>
#include <dcmtk/dcmnet/dul.h>
#include <dcmtk/dcmnet/dcmtrans.h>

#include <openssl/err.h>

#include <netdb.h>
#include <poll.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>

struct i2dcm_scu_file {
    DcmFileFormat ff;
};

struct i2dcm_scu_assoc {
    T_ASC_Network *net = nullptr;
    T_ASC_Association *assoc = nullptr;
    int dimseTimeout = 60;
    bool tls = false;
};

namespace {

using i2dcm::say;

void setUp() {
    static std::once_flag once;
    std::call_once(once, [] {
        // DCMTK leaves Nagle's algorithm on unless this is set: ~40 ms lost per C-STORE response.
        setenv("TCP_NODELAY", "1", 0);
        i2dcm::registerCodecs();
    });
}

bool isUncompressed(const char *ts) {
    return strcmp(ts, UID_LittleEndianExplicitTransferSyntax) == 0 || strcmp(ts, UID_LittleEndianImplicitTransferSyntax) == 0 ||
           strcmp(ts, UID_BigEndianExplicitTransferSyntax) == 0;
}

int classify(const OFCondition &c) {
    if (c.code() == DULC_TCPINITERROR) return I2DCM_NET_UNREACHABLE;
    if (c.module() == OFM_dcmtls || (c.module() == OFM_dcmnet && c.code() == DULC_TLSERROR)) return I2DCM_NET_TLS;
    if (c.code() == DULC_READTIMEOUT || c == DIMSE_NODATAAVAILABLE) return I2DCM_NET_TIMEOUT;
    if (c == DUL_ASSOCIATIONREJECTED) return I2DCM_NET_REJECTED;
    return I2DCM_NET_ABORTED;
}

/// The accepted context for `sopClass` that carries `fileTS` unchanged, else one with an uncompressed
/// syntax (explicit little endian preferred); 0 when there is none.
T_ASC_PresentationContextID pick(T_ASC_Association *assoc, const char *sopClass, const char *fileTS, std::string &chosen) {
    T_ASC_PresentationContextID fallback = 0;
    int n = ASC_countPresentationContexts(assoc->params);
    for (int i = 0; i < n; i++) {
        T_ASC_PresentationContext pc;
        ASC_getPresentationContext(assoc->params, i, &pc);
        if (pc.resultReason != ASC_P_ACCEPTANCE || strcmp(pc.abstractSyntax, sopClass) != 0) continue;
        if (strcmp(pc.acceptedTransferSyntax, fileTS) == 0) { chosen = fileTS; return pc.presentationContextID; }
        if (isUncompressed(pc.acceptedTransferSyntax) &&
            (!fallback || strcmp(pc.acceptedTransferSyntax, UID_LittleEndianExplicitTransferSyntax) == 0)) {
            fallback = pc.presentationContextID;
            chosen = pc.acceptedTransferSyntax;
        }
    }
    return fallback;
}

struct SocketOf : DcmTransportConnection {
    // getSocket() is protected; a pointer to it taken in a derived class may be called on any connection.
    static DcmNativeSocketType of(DcmTransportConnection *t) { return (t->*(&SocketOf::getSocket))(); }
};

int socketOf(i2dcm_scu_assoc *a) {
    DcmTransportConnection *t = DUL_getTransportConnection(a->assoc->DULassociation);
    return t ? SocketOf::of(t) : -1;
}

/// Waits until the peer's answer starts to arrive, then acknowledges it at once instead of after the
/// delayed-ACK timer (up to 40 ms on Linux). A peer whose DICOM stack leaves Nagle's algorithm on
/// (DCMTK's storescp, Orthanc) writes its C-STORE response in two pieces and holds the second until
/// the first is acknowledged: without this, every C-STORE would wait for our delayed ACK. Setting
/// TCP_QUICKACK while an ACK is pending sends it now; set before the data arrives, it does not stick.
/// False when nothing arrived within the DIMSE timeout.
bool acknowledgeAnswer(i2dcm_scu_assoc *a, int fd) {
    if (fd < 0) return true;
    int on = 1;
    if (a->tls) {
        // Over TLS the answer may already sit decrypted in OpenSSL's buffer, where poll cannot see it.
        DcmTransportConnection *t = DUL_getTransportConnection(a->assoc->DULassociation);
        if (!t->networkDataAvailable(a->dimseTimeout)) return false;
        setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &on, sizeof on);
        return true;
    }
    pollfd p{fd, POLLIN, 0};
    int r;
    do { r = poll(&p, 1, a->dimseTimeout * 1000); } while (r < 0 && errno == EINTR);
    if (r == 0) return false;
    if (r > 0) setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &on, sizeof on);
    return true;   // an error is for DCMTK's read to report
}

std::string nameOf(const char *uid) {
    const char *n = dcmFindNameOfUID(uid, nullptr);
    return n ? std::string(n) + " (" + uid + ")" : std::string(uid);
}

/// The outcome of a request that failed on the wire, `err` set (`what` names the request).
int failure(const OFCondition &c, const char *what, char *err, size_t errlen) {
    int outcome = classify(c);
    say(err, errlen, outcome == I2DCM_NET_TIMEOUT ? std::string("no ") + what + " response within the DIMSE timeout" : std::string(c.text()));
    return outcome == I2DCM_NET_REJECTED ? I2DCM_NET_ABORTED : outcome;
}

/// Sends a request (with its data set, if any) and waits for the answer: DIMSE_storeUser and
/// DIMSE_echoUser in two steps, because the acknowledgement switch must come between them.
/// I2DCM_OK with `answer` filled, or the outcome with `err` set (`what` names the request).
int exchange(i2dcm_scu_assoc *a, T_ASC_PresentationContextID id, T_DIMSE_Message &request, DcmDataset *ds,
             T_DIMSE_Message &answer, DcmDataset *&detail, const char *what, char *err, size_t errlen) {
    int fd = socketOf(a);
    int on = 1, off = 0;
    // DCMTK writes each PDU as a 12-byte header and then its data: corked, the kernel sends full
    // segments instead of twice as many, half of them tiny. Uncorking flushes the rest at once.
    setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof on);
    OFCondition c = DIMSE_sendMessageUsingMemoryData(a->assoc, id, &request, nullptr, ds, nullptr, nullptr);
    setsockopt(fd, IPPROTO_TCP, TCP_CORK, &off, sizeof off);
    memset(&answer, 0, sizeof answer);
    if (c.good() && !acknowledgeAnswer(a, fd)) c = DIMSE_NODATAAVAILABLE;
    T_ASC_PresentationContextID answerID = 0;
    if (c.good()) c = DIMSE_receiveCommand(a->assoc, DIMSE_NONBLOCKING, a->dimseTimeout, &answerID, &answer, &detail);
    if (c.bad()) return failure(c, what, err, errlen);
    return I2DCM_OK;
}

}  // namespace

extern "C" i2dcm_scu_assoc *i2dcmx_scu_open(const i2dcm_scu_params *p, const i2dcm_scu_context *contexts, int count, int *outcome,
                                   i2dcm_scu_rejection *rej, char *err, size_t errlen) {
    setUp();
    *outcome = I2DCM_NET_ABORTED;
    std::string where = std::string(p->host) + ":" + std::to_string(p->port);
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    if (int rc = getaddrinfo(p->host, nullptr, &hints, &res)) {
        *outcome = I2DCM_NET_UNRESOLVED;
        say(err, errlen, std::string("cannot resolve host '") + p->host + "': " + gai_strerror(rc));
        return nullptr;
    }
    freeaddrinfo(res);
    if (count > 128) { say(err, errlen, "more than 128 presentation contexts"); return nullptr; }

    // Process-wide DCMTK settings; i2 keeps one association at a time, so setting them here is safe.
    dcmConnectionTimeout.set(p->connect_timeout);
    dcmSocketSendTimeout.set(p->dimse_timeout);   // a peer that stops reading cannot block us forever
    dcmSocketReceiveTimeout.set(p->acse_timeout > p->dimse_timeout ? p->acse_timeout : p->dimse_timeout);
    auto *a = new i2dcm_scu_assoc();
    a->dimseTimeout = p->dimse_timeout;
    OFCondition c = ASC_initializeNetwork(NET_REQUESTOR, 0, p->acse_timeout, &a->net);
    T_ASC_Parameters *params = nullptr;
    if (c.good()) c = ASC_createAssociationParameters(&params, p->max_pdu);
    if (c.bad()) { say(err, errlen, std::string("cannot set up the DICOM network: ") + c.text()); i2dcmx_scu_close(a, 1); return nullptr; }
    if (p->tls) {
        std::string why;
        DcmTLSTransportLayer *layer = i2dcm::makeTLSLayer(p->tls, false, why);
        if (!layer) {
            *outcome = I2DCM_NET_TLS;
            say(err, errlen, why);
            ASC_destroyAssociationParameters(&params);
            i2dcmx_scu_close(a, 1);
            return nullptr;
        }
        ASC_setTransportLayer(a->net, layer, 1);   // the network owns it from now on
        ASC_setTransportLayerType(params, OFTrue);
        a->tls = true;
    }
    char self[256] = "localhost";
    gethostname(self, sizeof self - 1);
    ASC_setAPTitles(params, p->calling_ae, p->called_ae, nullptr);
    ASC_setPresentationAddresses(params, self, where.c_str());
    for (int i = 0; i < count && c.good(); i++) {
        const char *syntaxes[DICOM_MAXTRANSFERSYNTAXES];
        int k = 0;
        for (; k < contexts[i].count && k < DICOM_MAXTRANSFERSYNTAXES; k++) syntaxes[k] = contexts[i].transfer_syntaxes[k];
        c = ASC_addPresentationContext(params, (T_ASC_PresentationContextID)(2 * i + 1), contexts[i].abstract_syntax, syntaxes, k,
                                       contexts[i].scp_role ? ASC_SC_ROLE_SCP : ASC_SC_ROLE_DEFAULT);
    }
    if (c.bad()) {
        say(err, errlen, std::string("cannot propose presentation contexts: ") + c.text());
        ASC_destroyAssociationParameters(&params);
        i2dcmx_scu_close(a, 1);
        return nullptr;
    }
    c = ASC_requestAssociation(a->net, params, &a->assoc);
    if (c.bad()) {
        *outcome = classify(c);
        if (*outcome == I2DCM_NET_REJECTED) {
            T_ASC_RejectParameters r;
            ASC_getRejectParameters(params, &r);
            rej->result = r.result; rej->source = r.source; rej->reason = r.reason;
            OFString text;
            say(err, errlen, ASC_printRejectParameters(text, &r).c_str());
        } else if (*outcome == I2DCM_NET_TLS) {
            // The words the caller explains: OpenSSL's reason (certificate verify failed, an alert, an unexpected EOF).
            std::string queue;
            while (unsigned long e = ERR_get_error()) {
                const char *r = ERR_reason_error_string(e);
                if (r) queue += std::string(queue.empty() ? "" : "; ") + r;
            }
            say(err, errlen, queue.empty() ? std::string(c.text()) : std::string(c.text()) + ": " + queue);
        } else {
            say(err, errlen, c.text());
        }
        if (!a->assoc) ASC_destroyAssociationParameters(&params);
        i2dcmx_scu_close(a, 1);
        return nullptr;
    }
    *outcome = I2DCM_OK;
    return a;
}

extern "C" int i2dcmx_scu_accepted_count(i2dcm_scu_assoc *a) { return ASC_countAcceptedPresentationContexts(a->assoc->params); }

extern "C" i2dcm_scu_file *i2dcmx_scu_load(const char *path, int in_memory, int *status, char *err, size_t errlen) {
    setUp();
    auto *f = new i2dcm_scu_file();
    // In memory: every value is read in the one parsing pass (read-ahead, off the sending thread).
    // Otherwise bulk values stay on disk until DIMSE encodes them.
    Uint32 maxRead = in_memory ? 0xFFFFFFFE : DCM_MaxReadLength;
    *status = i2dcm::openFile(f->ff, path, maxRead, nullptr, err, errlen);
    if (*status != I2DCM_OK) { delete f; return nullptr; }
    return f;
}

extern "C" void i2dcmx_scu_file_free(i2dcm_scu_file *f) { delete f; }

extern "C" int i2dcmx_scu_store(i2dcm_scu_assoc *a, i2dcm_scu_file *f, i2dcm_scu_store_result *r, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    DcmDataset *ds = f->ff.getDataset();
    OFCondition c;
    if (!DU_findSOPClassAndInstanceInDataSet(ds, r->sop_class, sizeof r->sop_class, r->sop_instance, sizeof r->sop_instance)) {
        say(err, errlen, "no SOP Class UID or SOP Instance UID in the data set");
        return I2DCM_NET_UNREADABLE;
    }
    DcmXfer original(ds->getOriginalXfer());
    std::string chosen;
    T_ASC_PresentationContextID id = pick(a->assoc, r->sop_class, original.getXferID(), chosen);
    if (!id) {
        say(err, errlen, "the peer accepted no presentation context for " + nameOf(r->sop_class) + " in " +
                             original.getXferName() + " or an uncompressed transfer syntax");
        return I2DCM_NET_NO_CONTEXT;
    }
    DcmXfer target(chosen.c_str());
    if (original.getXfer() != target.getXfer()) {
        if (original.isEncapsulated()) {
            c = ds->chooseRepresentation(target.getXfer(), nullptr);
            if (c.bad() || !ds->canWriteXfer(target.getXfer())) {
                say(err, errlen, "the peer refused " + nameOf(r->sop_class) + " in " + original.getXferName() +
                                     ", and DCMTK cannot decode that to " + target.getXferName());
                return I2DCM_NET_NO_CONTEXT;
            }
            r->decompressed = 1;
        } else if (!ds->canWriteXfer(target.getXfer(), original.getXfer())) {
            say(err, errlen, std::string("cannot encode the data set in ") + target.getXferName());
            return I2DCM_NET_UNREADABLE;
        }
    }
    snprintf(r->transfer_syntax, sizeof r->transfer_syntax, "%s", chosen.c_str());

    T_DIMSE_Message msg, answer;
    memset(&msg, 0, sizeof msg);
    msg.CommandField = DIMSE_C_STORE_RQ;
    T_DIMSE_C_StoreRQ &req = msg.msg.CStoreRQ;
    req.MessageID = a->assoc->nextMsgID++;
    OFStandard::strlcpy(req.AffectedSOPClassUID, r->sop_class, sizeof req.AffectedSOPClassUID);
    OFStandard::strlcpy(req.AffectedSOPInstanceUID, r->sop_instance, sizeof req.AffectedSOPInstanceUID);
    req.DataSetType = DIMSE_DATASET_PRESENT;
    req.Priority = DIMSE_PRIORITY_MEDIUM;
    DcmDataset *detail = nullptr;
    int outcome = exchange(a, id, msg, ds, answer, detail, "C-STORE", err, errlen);
    if (outcome == I2DCM_OK && (answer.CommandField != DIMSE_C_STORE_RSP || answer.msg.CStoreRSP.MessageIDBeingRespondedTo != req.MessageID)) {
        say(err, errlen, "the peer answered the C-STORE with an unexpected message");
        outcome = I2DCM_NET_ABORTED;
    }
    if (outcome != I2DCM_OK) { delete detail; return outcome; }
    r->status = answer.msg.CStoreRSP.DimseStatus;
    OFString comment;
    if (detail && detail->findAndGetOFString(DCM_ErrorComment, comment).good()) say(err, errlen, comment.c_str());
    else say(err, errlen, "");
    delete detail;
    return I2DCM_OK;
}

extern "C" int i2dcmx_scu_echo(i2dcm_scu_assoc *a, uint16_t *status, char *err, size_t errlen) {
    T_ASC_PresentationContextID id = ASC_findAcceptedPresentationContextID(a->assoc, UID_VerificationSOPClass);
    if (!id) { say(err, errlen, "the peer did not accept the Verification SOP Class (C-ECHO)"); return I2DCM_NET_NO_CONTEXT; }
    T_DIMSE_Message msg, answer;
    memset(&msg, 0, sizeof msg);
    msg.CommandField = DIMSE_C_ECHO_RQ;
    msg.msg.CEchoRQ.MessageID = a->assoc->nextMsgID++;
    OFStandard::strlcpy(msg.msg.CEchoRQ.AffectedSOPClassUID, UID_VerificationSOPClass, sizeof msg.msg.CEchoRQ.AffectedSOPClassUID);
    msg.msg.CEchoRQ.DataSetType = DIMSE_DATASET_NULL;
    DcmDataset *detail = nullptr;
    int outcome = exchange(a, id, msg, nullptr, answer, detail, "C-ECHO", err, errlen);
    delete detail;
    if (outcome == I2DCM_OK && answer.CommandField != DIMSE_C_ECHO_RSP) {
        say(err, errlen, "the peer answered the C-ECHO with an unexpected message");
        outcome = I2DCM_NET_ABORTED;
    }
    *status = outcome == I2DCM_OK ? answer.msg.CEchoRSP.DimseStatus : 0;
    return outcome;
}

namespace {

/// What a C-FIND collects: each pending response's identifier as text, up to a bound (a peer that
/// answers without end must not take all our memory).
struct FindState {
    std::string out;
    bool overflow = false;
    static constexpr size_t limit = 256u << 20;
};

/// One identifier as "gggg,eeee=value" fields (top level only, multiple values '\'-separated) separated
/// by \x1f, the record ended by \x1e; control characters in values become spaces.
void collect(void *data, T_DIMSE_C_FindRQ *, int, T_DIMSE_C_FindRSP *, DcmDataset *id) {
    FindState &s = *static_cast<FindState *>(data);
    if (!id || s.overflow) return;
    std::string record;
    char tag[16];
    for (unsigned long i = 0; i < id->card(); i++) {
        DcmElement *e = id->getElement(i);
        if (!e || e->ident() == EVR_SQ) continue;
        OFString value;
        if (e->getOFStringArray(value).bad()) continue;
        snprintf(tag, sizeof tag, "%04x,%04x=", e->getGTag(), e->getETag());
        if (!record.empty()) record += '\x1f';
        record += tag;
        for (char c : value) record += (unsigned char)c < 0x20 ? ' ' : c;
    }
    if (s.out.size() + record.size() + 1 > FindState::limit) { s.overflow = true; return; }
    s.out += record;
    s.out += '\x1e';
}

/// The identifier of a query or retrieve from lines "gggg,eeee=value".
void identifier(const char *query, DcmDataset &keys) {
    for (const char *line = query; *line;) {
        const char *end = strchr(line, '\n');
        std::string l(line, end ? end - line : strlen(line));
        line = end ? end + 1 : line + l.size();
        unsigned g = 0, e = 0;
        size_t eq = l.find('=');
        if (eq == std::string::npos || sscanf(l.c_str(), "%x,%x", &g, &e) != 2) continue;
        keys.putAndInsertString(DcmTag((Uint16)g, (Uint16)e), l.substr(eq + 1).c_str());
    }
}

/// The last C-MOVE response's counts, kept as pending responses arrive.
void moveProgress(void *data, T_DIMSE_C_MoveRQ *, int, T_DIMSE_C_MoveRSP *rsp) {
    *static_cast<T_DIMSE_C_MoveRSP *>(data) = *rsp;
}

}  // namespace

extern "C" int i2dcmx_scu_move(i2dcm_scu_assoc *a, const char *model, const char *query, const char *destination,
                               i2dcm_scu_retrieve_result *r, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    T_ASC_PresentationContextID id = ASC_findAcceptedPresentationContextID(a->assoc, model);
    if (!id) { say(err, errlen, "the peer did not accept the retrieve model " + nameOf(model) + " (C-MOVE)"); return I2DCM_NET_NO_CONTEXT; }
    DcmDataset keys;
    identifier(query, keys);
    T_DIMSE_C_MoveRQ req;
    memset(&req, 0, sizeof req);
    req.MessageID = a->assoc->nextMsgID++;
    OFStandard::strlcpy(req.AffectedSOPClassUID, model, sizeof req.AffectedSOPClassUID);
    OFStandard::strlcpy(req.MoveDestination, destination, sizeof req.MoveDestination);
    req.DataSetType = DIMSE_DATASET_PRESENT;
    req.Priority = DIMSE_PRIORITY_MEDIUM;
    T_DIMSE_C_MoveRSP rsp, last;
    memset(&rsp, 0, sizeof rsp);
    memset(&last, 0, sizeof last);
    DcmDataset *detail = nullptr, *ids = nullptr;
    OFCondition c = DIMSE_moveUser(a->assoc, id, &req, &keys, moveProgress, &last, DIMSE_NONBLOCKING, a->dimseTimeout,
                                   nullptr, nullptr, nullptr, &rsp, &detail, &ids);
    OFString comment, failed;
    bool commented = detail && detail->findAndGetOFString(DCM_ErrorComment, comment).good();
    if (ids) ids->findAndGetOFStringArray(DCM_FailedSOPInstanceUIDList, failed);
    delete detail;
    delete ids;
    if (c.bad()) return failure(c, "C-MOVE", err, errlen);
    r->status = rsp.DimseStatus;
    // The final response may leave the counts out (they are conditional): the last pending one's stand.
    const T_DIMSE_C_MoveRSP &n = (rsp.opts & O_MOVE_NUMBEROFCOMPLETEDSUBOPERATIONS) ? rsp : last;
    r->completed = n.NumberOfCompletedSubOperations;
    r->failed = n.NumberOfFailedSubOperations;
    r->warning = n.NumberOfWarningSubOperations;
    r->remaining = n.NumberOfRemainingSubOperations;
    OFStandard::strlcpy(r->failed_uids, failed.c_str(), sizeof r->failed_uids);
    say(err, errlen, commented ? comment.c_str() : "");
    return I2DCM_OK;
}

extern "C" int i2dcmx_scu_get(i2dcm_scu_assoc *a, const char *model, const char *query, const char *incoming_dir,
                              i2dcm_scu_get_store_fn store, void *ctx, i2dcm_scu_retrieve_result *r, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    T_ASC_PresentationContextID id = ASC_findAcceptedPresentationContextID(a->assoc, model);
    if (!id) { say(err, errlen, "the peer did not accept the retrieve model " + nameOf(model) + " (C-GET)"); return I2DCM_NET_NO_CONTEXT; }
    DcmDataset keys;
    identifier(query, keys);
    T_DIMSE_Message request;
    memset(&request, 0, sizeof request);
    request.CommandField = DIMSE_C_GET_RQ;
    T_DIMSE_C_GetRQ &req = request.msg.CGetRQ;
    req.MessageID = a->assoc->nextMsgID++;
    OFStandard::strlcpy(req.AffectedSOPClassUID, model, sizeof req.AffectedSOPClassUID);
    req.DataSetType = DIMSE_DATASET_PRESENT;
    req.Priority = DIMSE_PRIORITY_MEDIUM;
    OFCondition c = DIMSE_sendMessageUsingMemoryData(a->assoc, id, &request, nullptr, &keys, nullptr, nullptr);
    if (c.bad()) return failure(c, "C-GET", err, errlen);
    static std::atomic<unsigned long> serial{0};
    T_DIMSE_C_GetRSP last;
    memset(&last, 0, sizeof last);
    OFString comment, failed;
    // The node's messages until its final C-GET response: its C-STORE sub-operations, each answered
    // with what `store` made of the instance, and pending C-GET responses with the counts so far.
    for (;;) {
        T_DIMSE_Message msg;
        memset(&msg, 0, sizeof msg);
        T_ASC_PresentationContextID pid = 0;
        DcmDataset *detail = nullptr;
        c = DIMSE_receiveCommand(a->assoc, DIMSE_NONBLOCKING, a->dimseTimeout, &pid, &msg, &detail);
        if (c.bad()) { delete detail; return failure(c, "C-GET", err, errlen); }
        if (msg.CommandField == DIMSE_C_GET_RSP) {
            const T_DIMSE_C_GetRSP &rsp = msg.msg.CGetRSP;
            if (detail) detail->findAndGetOFString(DCM_ErrorComment, comment);
            delete detail;
            if (rsp.DataSetType != DIMSE_DATASET_NULL) {
                DcmDataset *ids = nullptr;
                if (DIMSE_receiveDataSetInMemory(a->assoc, DIMSE_NONBLOCKING, a->dimseTimeout, &pid, &ids, nullptr, nullptr).good() && ids)
                    ids->findAndGetOFStringArray(DCM_FailedSOPInstanceUIDList, failed);
                delete ids;
            }
            if (rsp.opts & O_GET_NUMBEROFCOMPLETEDSUBOPERATIONS) last = rsp;
            if (rsp.DimseStatus == STATUS_Pending || rsp.DimseStatus == STATUS_GET_Pending_SubOperationsAreContinuing) continue;
            r->status = rsp.DimseStatus;
            r->completed = last.NumberOfCompletedSubOperations;
            r->failed = last.NumberOfFailedSubOperations;
            r->warning = last.NumberOfWarningSubOperations;
            r->remaining = last.NumberOfRemainingSubOperations;
            OFStandard::strlcpy(r->failed_uids, failed.c_str(), sizeof r->failed_uids);
            say(err, errlen, comment.c_str());
            return I2DCM_OK;
        }
        delete detail;
        if (msg.CommandField != DIMSE_C_STORE_RQ) {
            say(err, errlen, "the peer sent an unexpected message during the C-GET");
            return I2DCM_NET_ABORTED;
        }
        T_DIMSE_C_StoreRQ sreq = msg.msg.CStoreRQ;
        DcmDataset *ds = nullptr;
        c = DIMSE_receiveDataSetInMemory(a->assoc, DIMSE_NONBLOCKING, a->dimseTimeout, &pid, &ds, nullptr, nullptr);
        if (c.bad()) { delete ds; return failure(c, "C-GET", err, errlen); }
        T_ASC_PresentationContext pc;
        ASC_findAcceptedPresentationContext(a->assoc->params, pid, &pc);
        // Named as i2 receive names its transfers, so its recovery knows them after a crash.
        std::string path = std::string(incoming_dir) + "/.i2-" + std::to_string(getpid()) + "-get" + std::to_string(serial++) + ".part";
        uint16_t status = STATUS_STORE_Refused_OutOfResources;
        char why[512] = "";
        {
            DcmFileFormat ff(ds, OFFalse);   // takes the data set over (no copy); the meta header names its class, instance and syntax
            E_TransferSyntax xfer = DcmXfer(pc.acceptedTransferSyntax).getXfer();
            if (ff.saveFile(path.c_str(), xfer, EET_ExplicitLength, EGL_recalcGL, EPD_noChange, 0, 0, EWM_fileformat).good()) {
                status = store(ctx, path.c_str(), sreq.AffectedSOPClassUID, sreq.AffectedSOPInstanceUID, why, sizeof why);
            } else {
                unlink(path.c_str());
                snprintf(why, sizeof why, "cannot write %s", path.c_str());
            }
        }
        T_DIMSE_C_StoreRSP srsp;
        memset(&srsp, 0, sizeof srsp);
        srsp.MessageIDBeingRespondedTo = sreq.MessageID;
        srsp.DimseStatus = status;
        srsp.DataSetType = DIMSE_DATASET_NULL;
        OFStandard::strlcpy(srsp.AffectedSOPClassUID, sreq.AffectedSOPClassUID, sizeof srsp.AffectedSOPClassUID);
        OFStandard::strlcpy(srsp.AffectedSOPInstanceUID, sreq.AffectedSOPInstanceUID, sizeof srsp.AffectedSOPInstanceUID);
        srsp.opts = O_STORE_AFFECTEDSOPCLASSUID | O_STORE_AFFECTEDSOPINSTANCEUID;
        c = DIMSE_sendStoreResponse(a->assoc, pid, &sreq, &srsp, nullptr);
        if (c.bad()) return failure(c, "C-GET", err, errlen);
    }
}

extern "C" int i2dcmx_scu_find(i2dcm_scu_assoc *a, const char *model, const char *query, char **results, int *count,
                               uint16_t *status, char *err, size_t errlen) {
    *results = nullptr;
    *count = 0;
    *status = 0;
    T_ASC_PresentationContextID id = ASC_findAcceptedPresentationContextID(a->assoc, model);
    if (!id) { say(err, errlen, "the peer did not accept the query model " + nameOf(model) + " (C-FIND)"); return I2DCM_NET_NO_CONTEXT; }
    DcmDataset keys;
    identifier(query, keys);
    T_DIMSE_C_FindRQ req;
    memset(&req, 0, sizeof req);
    req.MessageID = a->assoc->nextMsgID++;
    OFStandard::strlcpy(req.AffectedSOPClassUID, model, sizeof req.AffectedSOPClassUID);
    req.DataSetType = DIMSE_DATASET_PRESENT;
    req.Priority = DIMSE_PRIORITY_MEDIUM;
    T_DIMSE_C_FindRSP rsp;
    memset(&rsp, 0, sizeof rsp);
    DcmDataset *detail = nullptr;
    FindState state;
    int responses = 0;
    OFCondition c = DIMSE_findUser(a->assoc, id, &req, &keys, responses, collect, &state, DIMSE_NONBLOCKING, a->dimseTimeout,
                                   &rsp, &detail);
    OFString comment;
    bool commented = detail && detail->findAndGetOFString(DCM_ErrorComment, comment).good();
    delete detail;
    if (c.bad()) return failure(c, "C-FIND", err, errlen);
    if (state.overflow) {
        say(err, errlen, "the peer's C-FIND answers exceed 256 MiB: narrow the query");
        return I2DCM_NET_ABORTED;
    }
    *status = rsp.DimseStatus;
    *count = responses;
    say(err, errlen, commented ? comment.c_str() : "");
    *results = (char *)malloc(state.out.size() + 1);
    if (!*results) { say(err, errlen, "out of memory"); return I2DCM_NET_ABORTED; }
    memcpy(*results, state.out.c_str(), state.out.size() + 1);
    return I2DCM_OK;
}

extern "C" void i2dcmx_scu_close(i2dcm_scu_assoc *a, int abort) {
    if (!a) return;
    if (a->assoc) {
        if (!abort && ASC_releaseAssociation(a->assoc).good()) {
            ASC_destroyAssociation(&a->assoc);
        } else {
            // ASC_abortAssociation waits (up to the ACSE timeout) for the peer to close the connection;
            // a peer that stopped answering would hold us that long. Send A-ABORT and close at once.
            int fd = socketOf(a);
            static const unsigned char pdu[10] = {0x07, 0, 0, 0, 0, 4, 0, 0, 0, 0};   // A-ABORT, service user
            if (fd >= 0) {
                if (a->tls) {
                    // Inside the TLS session (raw bytes would corrupt it), without blocking on a peer that stopped reading.
                    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
                    (void)DUL_getTransportConnection(a->assoc->DULassociation)->write((void *)pdu, sizeof pdu);
                } else {
                    (void)send(fd, pdu, sizeof pdu, MSG_NOSIGNAL | MSG_DONTWAIT);
                }
                shutdown(fd, SHUT_RDWR);   // DCMTK's drop would otherwise wait for the peer to close (3 min)
            }
            ASC_dropSCPAssociation(a->assoc);
            ASC_destroyAssociation(&a->assoc);
        }
    }
    if (a->net) ASC_dropNetwork(&a->net);
    delete a;
}

extern "C" int i2dcmx_probe(const char *path, char *sopClass, char *sopInstance, char *ts, size_t len, char *err, size_t errlen) {
    setUp();
    sopClass[0] = sopInstance[0] = ts[0] = 0;
    i2dcm::Meta m;
    int status = i2dcm::readMeta(path, m, err, errlen);
    if (status != I2DCM_OK) return status;
    if (m.part10 && !m.sopClass.empty() && !m.sopInstance.empty() && !m.transferSyntax.empty()) {
        snprintf(sopClass, len, "%s", m.sopClass.c_str());
        snprintf(sopInstance, len, "%s", m.sopInstance.c_str());
        snprintf(ts, len, "%s", m.transferSyntax.c_str());
        return I2DCM_OK;
    }
    // No Part 10 header, or an incomplete one: parse the data set as far as the SOP Instance UID.
    DcmFileFormat ff;
    const DcmTagKey after(0x0008, 0x0019);   // stops before this tag: SOPInstanceUID, just before it, is read
    status = i2dcm::openFile(ff, path, 256, &after, err, errlen);
    if (status != I2DCM_OK) return status;
    DcmDataset *ds = ff.getDataset();
    OFString cls, inst;
    if (ds->findAndGetOFString(DCM_SOPClassUID, cls).bad() || ds->findAndGetOFString(DCM_SOPInstanceUID, inst).bad()) {
        return say(err, errlen, "cannot read DICOM: no SOP Class UID or SOP Instance UID");
    }
    snprintf(sopClass, len, "%s", cls.c_str());
    snprintf(sopInstance, len, "%s", inst.c_str());
    snprintf(ts, len, "%s", DcmXfer(ds->getOriginalXfer()).getXferID());
    return I2DCM_OK;
}

extern "C" const char *i2dcmx_uid_name(const char *uid) { return dcmFindNameOfUID(uid, nullptr); }

extern "C" const char *i2dcmx_status_text(uint16_t status) { return DU_cstoreStatusString(status); }
