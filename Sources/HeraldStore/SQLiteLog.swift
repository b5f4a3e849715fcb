import Foundation
import GRDB
import HeraldCore

/// The embedded durable log: one SQLite database in WAL mode under the data directory, through GRDB.
/// `streams` holds each durable channel's epoch and top offset (kept when its publications are trimmed
/// away, so offsets continue after a restart); `publications` holds what retention still keeps; `meta` holds
/// the log's `epochSeed`, made when the log is created. Only the
/// durable writer's thread writes; each round is one transaction, synchronous FULL (fsync on commit) when
/// a publication in it asks for `fsync`, NORMAL (safe from a crash of Herald, not of the machine) when all
/// ask for `os`.
public final class SQLiteLog: PublicationLog, @unchecked Sendable {
    private let database: DatabaseQueue
    public let path: String
    public let epochSeed: String

    /// The database and its write-ahead log, as they take space on disk.
    public var byteSize: Int {
        [path, path + "-wal"].reduce(0) { total, file in
            total + ((try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0)
        }
    }

    /// Opens (or creates) the log in `directory`; a directory that cannot be created or written, or a
    /// database that is damaged, is an error that names the path.
    public init(directory: String) throws(LogError) {
        path = (directory as NSString).appendingPathComponent("herald.sqlite")
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw LogError("cannot create data directory \(directory): \(error.localizedDescription)")
        }
        guard FileManager.default.isWritableFile(atPath: directory) else {
            throw LogError("data directory \(directory) is not writable")
        }
        var configuration = Configuration()
        configuration.journalMode = .wal
        configuration.label = "herald-log"
        do {
            database = try DatabaseQueue(path: path, configuration: configuration)
            epochSeed = try database.writeWithoutTransaction { db -> String in
                let check = try String.fetchOne(db, sql: "PRAGMA quick_check") ?? "no answer"
                guard check == "ok" else { throw LogError("integrity check failed: \(check)") }
                try db.execute(sql: """
                    CREATE TABLE IF NOT EXISTS streams (
                        channel TEXT PRIMARY KEY, epoch TEXT NOT NULL, top INTEGER NOT NULL);
                    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                    CREATE TABLE IF NOT EXISTS publications (
                        channel TEXT NOT NULL, offset INTEGER NOT NULL, time INTEGER NOT NULL,
                        data BLOB NOT NULL, client TEXT, user TEXT,
                        PRIMARY KEY (channel, offset)) WITHOUT ROWID;
                    """)
                if let seed = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'epoch_seed'") {
                    return seed
                }
                let seed = UUID().uuidString
                try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('epoch_seed', ?)", arguments: [seed])
                return seed
            }
        } catch let error as LogError {
            throw LogError("durable log \(path) is damaged or unreadable: \(error)")
        } catch {
            throw LogError("durable log \(path) is damaged or unreadable: \(Self.describe(error))")
        }
    }

    public func storedStreams() throws(LogError) -> [StoredStream] {
        try run {
            try database.read { db in
                var streams: [String: StoredStream] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT channel, epoch, top FROM streams") {
                    let channel: String = row["channel"]
                    streams[channel] = StoredStream(channel: channel, epoch: row["epoch"],
                                                    top: UInt64(row["top"] as Int64), publications: [])
                }
                let rows = try Row.fetchCursor(db, sql: """
                    SELECT channel, offset, time, data, client, user FROM publications ORDER BY channel, offset
                    """)
                while let row = try rows.next() {
                    let channel: String = row["channel"]
                    let client: String? = row["client"]
                    let data: Data = row["data"]
                    let publication = HistoryPublication(
                        offset: UInt64(row["offset"] as Int64), time: row["time"], data: [UInt8](data),
                        info: client.map { ClientInfo(client: $0, user: row["user"] ?? "") })
                    streams[channel]?.publications.append(publication)
                }
                return Array(streams.values)
            }
        }
    }

    public func append(_ publications: [(channel: String, epoch: String, publication: HistoryPublication)],
                       durability: Durability) throws(LogError) {
        try run {
            try database.writeWithoutTransaction { db in
                try db.execute(sql: durability == .fsync ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
                try db.inTransaction {
                    let insert = try db.cachedStatement(sql: """
                        INSERT INTO publications (channel, offset, time, data, client, user) VALUES (?, ?, ?, ?, ?, ?)
                        """)
                    var tops: [String: (epoch: String, top: UInt64)] = [:]
                    for (channel, epoch, publication) in publications {
                        try insert.execute(arguments: [
                            channel, Int64(publication.offset), publication.time, Data(publication.data),
                            publication.info?.client, publication.info?.user,
                        ])
                        tops[channel] = (epoch, publication.offset)
                    }
                    let upsert = try db.cachedStatement(sql: """
                        INSERT INTO streams (channel, epoch, top) VALUES (?, ?, ?)
                        ON CONFLICT (channel) DO UPDATE SET epoch = excluded.epoch, top = excluded.top
                        """)
                    for (channel, stream) in tops {
                        try upsert.execute(arguments: [channel, stream.epoch, Int64(stream.top)])
                    }
                    return .commit
                }
            }
        }
    }

    public func reset(channel: String, epoch: String) throws(LogError) {
        try run {
            try database.write { db in
                try db.execute(sql: "DELETE FROM publications WHERE channel = ?", arguments: [channel])
                try db.execute(sql: """
                    INSERT INTO streams (channel, epoch, top) VALUES (?, ?, 0)
                    ON CONFLICT (channel) DO UPDATE SET epoch = excluded.epoch, top = 0
                    """, arguments: [channel, epoch])
            }
        }
    }

    public func trim(channel: String, before offset: UInt64) throws(LogError) {
        try run {
            try database.write { db in
                try db.execute(sql: "DELETE FROM publications WHERE channel = ? AND offset < ?",
                               arguments: [channel, Int64(offset)])
            }
        }
    }

    private func run<T>(_ body: () throws -> T) throws(LogError) -> T {
        do {
            return try body()
        } catch {
            throw LogError(Self.describe(error))
        }
    }

    /// SQLite's own words ("database or disk is full"), which say what the operator must fix.
    private static func describe(_ error: Error) -> String {
        if let error = error as? DatabaseError { return error.message ?? "\(error.resultCode)" }
        return "\(error)"
    }
}
