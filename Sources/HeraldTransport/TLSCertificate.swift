import CLibWebSockets
import Glibc
import HeraldCore

/// The certificate and key files one loop's libwebsockets vhost serves TLS with, and their reload.
///
/// Reload (SIGHUP): lws 4.1.6's `lws_tls_cert_updated` loads the files again into the vhost's `SSL_CTX`,
/// which only handshakes from then on use: an established connection keeps its TLS session and is not
/// touched. (A second vhost with the new files would not do: lws binds a connection by SNI and Host to the
/// first vhost on the port, the old one.) Two things can go wrong in place, so the files are first loaded
/// into a throwaway vhost:
/// - `lws_tls_cert_updated` loads the certificate, then the key, into the live context and reports no
///   failure, so a bad pair would leave the context without a usable key; creating the throwaway vhost
///   fails instead (OpenSSL reads both files and checks that the key matches the certificate).
/// - OpenSSL keeps one certificate per key type in a context: an RSA certificate loaded over an EC one
///   sits beside it, and clients that prefer EC keep getting the old one. A new key type is refused.
final class TLSCertificate {
    private let certPath: UnsafeMutablePointer<CChar>
    private let keyPath: UnsafeMutablePointer<CChar>
    /// HTTP/1.1 only: lws would otherwise offer h2, and Herald speaks WebSocket and its API over HTTP/1.1.
    private static let alpn = strdup("http/1.1")!
    private static let probeName = strdup("herald-tls-probe")!

    enum ReloadError: Error, CustomStringConvertible {
        case unloadable
        case keyTypeChanged

        var description: String {
            switch self {
            case .unloadable: "libwebsockets could not load the files (see its log line above)"
            case .keyTypeChanged: "the new certificate's key type differs from the served one's; restart Herald to change it"
            }
        }
    }

    init(_ tls: HeraldConfig.HTTPServer.TLS) {
        certPath = strdup(tls.certPEMFile)
        keyPath = strdup(tls.keyPEMFile)
    }

    deinit {
        free(certPath)
        free(keyPath)
    }

    /// Makes the vhost lws creates from `info` serve TLS with the files; the strings outlive the vhost.
    func configure(_ info: inout lws_context_creation_info) {
        info.options |= herald_option_ssl_global_init
        info.ssl_cert_filepath = UnsafePointer(certPath)
        info.ssl_private_key_filepath = UnsafePointer(keyPath)
        info.alpn = UnsafePointer(Self.alpn)
    }

    /// Runs on the loop's thread, for `vhost` (the one serving). On error the vhost keeps the old files.
    func reload(context: OpaquePointer, vhost: OpaquePointer, protocols: UnsafePointer<lws_protocols>) throws(ReloadError) {
        var info = lws_context_creation_info()
        info.port = CONTEXT_PORT_NO_LISTEN_SERVER
        info.protocols = protocols
        info.vhost_name = UnsafePointer(Self.probeName)
        configure(&info)
        guard let probe = lws_create_vhost(context, &info) else { throw .unloadable }
        let sameKeyType = Self.keyAlgorithm(of: probe) == Self.keyAlgorithm(of: vhost)
        // No connection is bound to the probe, so lws frees it at once (and it no longer matches the paths).
        lws_vhost_destroy(probe)
        guard sameKeyType else { throw .keyTypeChanged }
        _ = lws_tls_cert_updated(context, certPath, keyPath, nil, 0, nil, 0)
    }

    /// The algorithm OID of the vhost certificate's public key (SubjectPublicKeyInfo DER:
    /// SEQUENCE { SEQUENCE { OID, parameters }, BIT STRING }), which is what OpenSSL picks the slot by.
    private static func keyAlgorithm(of vhost: OpaquePointer) -> [UInt8]? {
        let capacity = 4096
        let raw = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        defer { raw.deallocate() }
        let results = raw.bindMemory(to: lws_tls_cert_info_results.self, capacity: 1)
        // As lws-x509.h says: the name field runs on past the union to the end of the buffer.
        let length = capacity - MemoryLayout<lws_tls_cert_info_results>.size + 64
        guard lws_tls_vhost_cert_info(vhost, LWS_TLS_CERT_INFO_OPAQUE_PUBLIC_KEY, results, length) == 0 else {
            return nil
        }
        // `ns` is { int len; char name[]; }: the bytes start after the int.
        let der = UnsafeRawBufferPointer(start: raw + MemoryLayout<Int32>.size, count: Int(results.pointee.ns.len))
        var reader = DERReader(der)
        guard reader.enter(0x30), reader.enter(0x30), let oid = reader.read(0x06) else { return nil }
        return Array(oid)
    }
}

/// Just enough DER to walk into a SubjectPublicKeyInfo.
private struct DERReader {
    private let bytes: UnsafeRawBufferPointer
    private var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// Steps into a constructed element with `tag`.
    mutating func enter(_ tag: UInt8) -> Bool {
        header(tag) != nil
    }

    /// The contents of a primitive element with `tag`.
    mutating func read(_ tag: UInt8) -> Slice<UnsafeRawBufferPointer>? {
        guard let length = header(tag), offset + length <= bytes.count else { return nil }
        defer { offset += length }
        return bytes[offset..<(offset + length)]
    }

    private mutating func header(_ tag: UInt8) -> Int? {
        guard offset + 2 <= bytes.count, bytes[offset] == tag else { return nil }
        var length = Int(bytes[offset + 1])
        offset += 2
        if length & 0x80 != 0 {
            let count = length & 0x7F
            guard count <= 4, offset + count <= bytes.count else { return nil }
            length = bytes[offset..<(offset + count)].reduce(0) { $0 << 8 | Int($1) }
            offset += count
        }
        return length
    }
}
