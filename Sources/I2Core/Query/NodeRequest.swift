// What i2 query and i2 retrieve share: the association (one presentation context: the information
// model, little endian), and the reading of an abort in answer to a request.
import I2DICOM
import I2Model

enum NodeRequest {
    /// Little endian, explicit then implicit: what queries and retrieves are carried in.
    static let plain = [TransferSyntaxUID.explicitLittle, TransferSyntaxUID.implicitLittle]

    /// An association proposing `model` (and `more` contexts: a C-GET's storage SOP classes).
    static func open(_ node: Destination, callingAE: String, connect: Int, acse: Int, dimse: Int, model: String,
                     more: [PresentationContext] = []) throws -> Association {
        var p = AssociationParameters(calledAE: node.aeTitle, host: node.host, port: node.port)
        p.callingAE = callingAE
        p.connectTimeout = connect
        p.acseTimeout = acse
        p.dimseTimeout = dimse
        p.tls = node.tls
        do {
            return try Association(p, contexts: [PresentationContext(model, plain)] + more)
        } catch var e as I2Error where e.cause == .tls || e.cause == .aborted {
            // OpenSSL's words explained; an abort may be a TLS port answering plain TCP, or the reverse.
            e.detail = Explain.association(e, to: node, callingAE: callingAE, timeouts: (connect, acse))
            throw e
        }
    }

    /// Runs `request`; an abort in answer to it is how nodes refuse a caller they do not allow to query or
    /// retrieve (Orthanc for an AE title outside DicomModalities): a rejection, not a transient fault.
    static func refusing<T>(_ node: Destination, callingAE: String, _ what: String, _ request: () throws -> T) throws -> T {
        do { return try request() } catch let e as I2Error where e.cause == .aborted {
            throw I2Error(.rejected, peer: node.address, "\(e.detail): the node aborted the association in answer to the \(what); it may not allow that from AE title \(callingAE)")
        }
    }
}
