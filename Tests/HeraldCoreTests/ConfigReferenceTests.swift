import Foundation
import HeraldCore
import XCTest

/// The README's configuration tables against the code: every key has a row, and the row's default is the
/// code's default, written as in a JSON file.
final class ConfigReferenceTests: XCTestCase {
    /// Rows of the README's tables whose second column is `default`: the keys in the first cell's backticks (a "(Herald)" note aside), the
    /// defaults in the second cell's backticks (one for all the keys, or one each).
    private func readmeDefaults() throws -> [String: String] {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        var defaults: [String: String] = [:]
        var inDefaultsTable = false
        for line in try String(contentsOf: readme, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false) {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard line.hasPrefix("|"), cells.count > 3 else {
                inDefaultsTable = false
                continue
            }
            if !line.hasPrefix("| `") {
                if cells[2] == "default" { inDefaultsTable = true }
                continue
            }
            guard inDefaultsTable else { continue }
            let keys = backticked(cells[1])
            let values = backticked(cells[2])
            guard !keys.isEmpty, values.count == 1 || values.count == keys.count else { continue }
            for (index, key) in keys.enumerated() { defaults[key] = values[values.count == 1 ? 0 : index] }
        }
        return defaults
    }

    private func backticked(_ cell: String) -> [String] {
        cell.split(separator: "`", omittingEmptySubsequences: false).enumerated()
            .filter { $0.offset % 2 == 1 }.map { String($0.element) }
    }

    func testEveryKeyHasARowWithTheCodesDefault() throws {
        let documented = try readmeDefaults()
        var problems: [String] = []
        for (key, value) in HeraldConfig.reference() where !key.hasPrefix("channel.without_namespace.") {
            guard let written = documented[key] else { problems.append("\(key): no row (default \(value))"); continue }
            if written != value { problems.append("\(key): README says \(written), the code \(value)") }
        }
        for (key, value) in HeraldConfig.namespaceReference() {
            if let written = documented[key], written != value {
                problems.append("namespace option \(key): README says \(written), the code \(value)")
            }
        }
        XCTAssertEqual(problems, [], problems.joined(separator: "\n"))
    }

    func testEveryNamespaceOptionIsNamed() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        let missing = HeraldConfig.namespaceReference().map(\.key).filter { !text.contains("`\($0)`") }
        XCTAssertEqual(missing, [])
    }
}
