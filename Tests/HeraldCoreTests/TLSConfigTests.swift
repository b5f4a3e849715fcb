import Foundation
import XCTest
@testable import HeraldCore

/// `http_server.tls`: the keys load from file and environment, and the files are checked at load time with
/// errors naming the key (the key-matches-certificate check is OpenSSL's, covered end to end).
final class TLSConfigTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: directory)
        super.tearDown()
    }

    private static let certificate = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    private static let key = "-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n"

    private func file(_ name: String, _ text: String) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func load(cert: String, key: String, enabled: Bool = true) throws -> HeraldConfig {
        let json = #"{"http_server": {"tls": {"enabled": \#(enabled), "cert_pem_file": "\#(cert)", "key_pem_file": "\#(key)"}}}"#
        return try ConfigLoader.load(file: file("config.json", json), environment: [:], overrides: ConfigOverrides()).config
    }

    private func assertError(cert: String, key: String, _ path: String, _ problem: String,
                             line: UInt = #line) {
        XCTAssertThrowsError(try load(cert: cert, key: key), line: line) { error in
            guard let error = error as? ConfigError else { return XCTFail("\(error)", line: line) }
            XCTAssertEqual(error.path, path, line: line)
            XCTAssertTrue(error.problem.hasPrefix(problem), "\(error.problem)", line: line)
        }
    }

    func testKeysLoadAndDefaultToOff() throws {
        XCTAssertEqual(HeraldConfig.secureDefaults.httpServer.tls, .init())
        XCTAssertFalse(HeraldConfig.secureDefaults.httpServer.tls.enabled)
        let cert = try file("cert.pem", Self.certificate), key = try file("key.pem", Self.key)
        let tls = try load(cert: cert, key: key).httpServer.tls
        XCTAssertEqual(tls, .init(enabled: true, certPEMFile: cert, keyPEMFile: key))
        // Environment variables, as for every key.
        let environment = ["HERALD_HTTP_SERVER_TLS_ENABLED": "true", "HERALD_HTTP_SERVER_TLS_CERT_PEM_FILE": cert,
                           "HERALD_HTTP_SERVER_TLS_KEY_PEM_FILE": key]
        let fromEnvironment = try ConfigLoader.load(file: nil, environment: environment, overrides: ConfigOverrides())
        XCTAssertEqual(fromEnvironment.config.httpServer.tls, tls)
    }

    func testFilesAreCheckedOnlyWhenEnabled() throws {
        XCTAssertNoThrow(try load(cert: "/nonexistent/cert.pem", key: "", enabled: false))
    }

    func testErrorsNameTheKey() throws {
        let cert = try file("cert.pem", Self.certificate), key = try file("key.pem", Self.key)
        assertError(cert: "", key: key, "http_server.tls.cert_pem_file", "needed when http_server.tls.enabled is true")
        assertError(cert: cert, key: "", "http_server.tls.key_pem_file", "needed when http_server.tls.enabled is true")
        assertError(cert: directory.appendingPathComponent("missing.pem").path, key: key,
                    "http_server.tls.cert_pem_file", "cannot read ")
        assertError(cert: cert, key: directory.appendingPathComponent("missing.pem").path,
                    "http_server.tls.key_pem_file", "cannot read ")
        // The files swapped: neither holds what its key needs.
        assertError(cert: key, key: cert, "http_server.tls.cert_pem_file", "\(key) holds no PEM certificate")
        assertError(cert: cert, key: cert, "http_server.tls.key_pem_file", "\(cert) holds no PEM private key")
        let encrypted = try file("encrypted.pem", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIF\n-----END ENCRYPTED PRIVATE KEY-----\n")
        assertError(cert: cert, key: encrypted, "http_server.tls.key_pem_file", "\(encrypted) is encrypted")
    }

    func testTraditionalKeyHeadersAreAccepted() throws {
        let cert = try file("cert.pem", Self.certificate)
        for header in ["RSA PRIVATE KEY", "EC PRIVATE KEY"] {
            let key = try file("key.pem", "-----BEGIN \(header)-----\nMIIE\n-----END \(header)-----\n")
            XCTAssertNoThrow(try load(cert: cert, key: key))
        }
    }
}
