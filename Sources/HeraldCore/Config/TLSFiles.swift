import FoundationEssentials

extension HeraldConfig.HTTPServer.TLS {
    /// Checks what can be checked without OpenSSL: both files are named, readable, and hold the PEM block
    /// each needs; the error names the key. Run at start and again on SIGHUP before the loops reload, so a
    /// half-written replacement is refused with its key's name. Whether the key matches the certificate is
    /// OpenSSL's to say, when libwebsockets loads them.
    public func checkFiles() throws(ConfigError) {
        let cert = try Self.read(certPEMFile, key: "http_server.tls.cert_pem_file")
        guard cert.contains("-----BEGIN CERTIFICATE-----") else {
            throw ConfigError("http_server.tls.cert_pem_file", "\(certPEMFile) holds no PEM certificate")
        }
        let key = try Self.read(keyPEMFile, key: "http_server.tls.key_pem_file")
        if key.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") || key.contains("Proc-Type: 4,ENCRYPTED") {
            throw ConfigError("http_server.tls.key_pem_file", "\(keyPEMFile) is encrypted; Herald needs an unencrypted key")
        }
        guard key.contains("-----BEGIN "), key.contains("PRIVATE KEY-----") else {
            throw ConfigError("http_server.tls.key_pem_file", "\(keyPEMFile) holds no PEM private key")
        }
    }

    private static func read(_ path: String, key: String) throws(ConfigError) -> String {
        guard !path.isEmpty else { throw ConfigError(key, "needed when http_server.tls.enabled is true") }
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(key, "cannot read \(path): \(error.localizedDescription)")
        }
    }
}
