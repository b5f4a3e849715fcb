import CRdKafka
import HeraldCore

/// A librdkafka client handle (producer or consumer) made from Herald's settings for its role, then the
/// brokers, then the operator's `kafka.librdkafka` properties, which win.
enum RdKafkaHandle {
    struct Problem: Error, CustomStringConvertible {
        let description: String
    }

    static func make(_ type: rd_kafka_type_t, role: [(String, String)], brokers: [String], passthrough: [String: String],
                     configure: (OpaquePointer) -> Void = { _ in }) throws(Problem) -> OpaquePointer {
        let conf = rd_kafka_conf_new()!
        var error = [CChar](repeating: 0, count: 512)
        let properties = role + [("bootstrap.servers", brokers.joined(separator: ","))]
            + passthrough.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        for (name, value) in properties where rd_kafka_conf_set(conf, name, value, &error, error.count) != RD_KAFKA_CONF_OK {
            rd_kafka_conf_destroy(conf)
            throw Problem(description: "librdkafka property \(name): \(Self.text(error))")
        }
        KafkaLog.install(on: conf)
        configure(conf)
        // On success the handle owns `conf`; on failure it is still ours.
        guard let handle = rd_kafka_new(type, conf, &error, error.count) else {
            rd_kafka_conf_destroy(conf)
            throw Problem(description: "librdkafka: \(Self.text(error))")
        }
        return handle
    }

    /// A C error buffer's text.
    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func describe(_ error: rd_kafka_resp_err_t) -> String { String(cString: rd_kafka_err2str(error)) }

    /// Copies a consumed message out of librdkafka's memory.
    static func record(_ message: UnsafeMutablePointer<rd_kafka_message_t>) -> KafkaRecord {
        let m = message.pointee
        func bytes(_ pointer: UnsafeMutableRawPointer?, _ count: Int) -> [UInt8]? {
            guard let pointer else { return nil }
            return Array(UnsafeRawBufferPointer(start: pointer, count: count))
        }
        var headers: [(name: String, value: [UInt8])] = []
        var list: OpaquePointer?
        if rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list {
            var index = 0
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(list, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                headers.append((String(cString: name!),
                                value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []))
                index += 1
            }
        }
        return KafkaRecord(topic: String(cString: rd_kafka_topic_name(m.rkt)), partition: m.partition,
                           offset: m.offset, key: bytes(m.key, m.key_len), headers: headers,
                           value: bytes(m.payload, m.len))
    }
}
