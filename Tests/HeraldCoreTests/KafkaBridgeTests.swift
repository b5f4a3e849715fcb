import Foundation
import Logging
import Synchronization
import XCTest

@testable import HeraldCore

/// The Kafka bridge's pure-Swift parts: the partitioner, channel templates, record value formats, the
/// `kafka` configuration section, channel streams with Kafka's non-consecutive offsets, partition epochs,
/// and the bridge's intake, binding, publishing and catch-up driven without a broker.
final class KafkaBridgeTests: XCTestCase {
    // MARK: Murmur2 partitioner

    /// Apache Kafka's own vectors: `UtilsTest.testMurmur2` in
    /// clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java (apache/kafka @ f55581dc).
    private static let kafkaMurmur2Vectors: [([UInt8], Int32)] = [
        (Array("21".utf8), -973_932_308),
        (Array("foobar".utf8), -790_332_482),
        (Array("a-little-bit-long-string".utf8), -985_981_536),
        (Array("a-little-bit-longer-string".utf8), -1_486_304_829),
        (Array("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8".utf8), -58_897_971),
        ([UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "c")], 479_470_107),
    ]

    func testMurmur2MatchesKafkasPublishedVectors() {
        for (key, expected) in Self.kafkaMurmur2Vectors {
            XCTAssertEqual(Murmur2.hash(key), expected, String(decoding: key, as: UTF8.self))
        }
    }

    func testPartitionIsThePositiveHashModuloThePartitionCount() {
        // Kafka's `Utils.toPositive(murmur2(key)) % partitions`: the sign bit is masked off, not negated.
        for (key, hash) in Self.kafkaMurmur2Vectors {
            for partitions: Int32 in [1, 2, 3, 4, 7, 12, 100, Int32.max] {
                XCTAssertEqual(Murmur2.partition(key: key, partitions: partitions), (hash & 0x7fff_ffff) % partitions)
            }
        }
        // Negative hashes where masking and negating disagree.
        XCTAssertEqual(Murmur2.partition(key: Array("21".utf8), partitions: 7), 3)
        XCTAssertEqual(Murmur2.partition(key: Array("foobar".utf8), partitions: 12), 6)
        XCTAssertEqual(Murmur2.partition(key: Array("a-little-bit-longer-string".utf8), partitions: 12), 11)
    }

    func testPartitionsAgreeWithLibrdkafkasMurmur2Partitioner() {
        // Observed from confluent-kafka 2.16 (librdkafka 2.16), `partitioner: murmur2_random`, producing to a
        // 4-partition topic of librdkafka's mock cluster: the partition each delivery report named.
        let observed: [(String, Int32)] = [
            ("21", 0), ("foobar", 2), ("abc", 3), ("a-little-bit-long-string", 0), ("a-little-bit-longer-string", 3),
            ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", 1), ("order-1", 2), ("order-2", 3),
            ("order-42", 0), ("user:7", 0), ("k", 0), ("é", 3),
        ]
        for (key, partition) in observed {
            XCTAssertEqual(Murmur2.partition(key: Array(key.utf8), partitions: 4), partition, key)
        }
    }

    // MARK: Channel templates: parsing

    private func templateError(_ text: String, topic: String = "orders") -> String? {
        do {
            _ = try ChannelTemplate(text, topic: topic)
            return nil
        } catch {
            return error.reason
        }
    }

    func testTopicIsSubstitutedAtParseTimeAndJoinsTheText() throws {
        XCTAssertEqual(try ChannelTemplate("{topic}:{key}", topic: "orders").parts, [.text("orders:"), .key])
        XCTAssertEqual(try ChannelTemplate("x{topic}y", topic: "orders").parts, [.text("xordersy")])
        XCTAssertEqual(try ChannelTemplate("{topic}", topic: "orders").parts, [.text("orders")])
    }

    func testPlaceholders() throws {
        let template = try ChannelTemplate("t:{partition}.{key}/{header:region}", topic: "t")
        XCTAssertEqual(template.parts, [.text("t:"), .partition, .text("."), .key, .text("/"), .header("region")])
        XCTAssertEqual(try ChannelTemplate("h:{header:x-trace:id}", topic: "t").parts, [.text("h:"), .header("x-trace:id")])
    }

    func testTheTemplateDecidesTheNamespaceOnlyWhenNoValueCanBringAColon() throws {
        XCTAssertEqual(try ChannelTemplate("orders:{key}", topic: "t").namespace, "orders")
        XCTAssertEqual(try ChannelTemplate("news-{partition}", topic: "t").namespace, "")
        XCTAssertEqual(try ChannelTemplate("{topic}", topic: "t").namespace, "")
        XCTAssertNil(try ChannelTemplate("{key}", topic: "t").namespace)
        XCTAssertNil(try ChannelTemplate("x-{header:h}", topic: "t").namespace)
    }

    func testTemplateErrorsSayWhatIsWrong() {
        let unknown = " (use {topic}, {partition}, {key} or {header:NAME})"
        XCTAssertEqual(templateError("orders:{id}"), "unknown placeholder {id}" + unknown)
        XCTAssertEqual(templateError("orders:{Key}"), "unknown placeholder {Key}" + unknown)
        XCTAssertEqual(templateError("orders:{header:}"), "unknown placeholder {header:}" + unknown)
        XCTAssertEqual(templateError("orders:{}"), "unknown placeholder {}" + unknown)
        XCTAssertEqual(templateError("orders:{key"), "unclosed {")
        XCTAssertEqual(templateError("orders:{key}:{"), "unclosed {")
        XCTAssertEqual(templateError("orders:{key}}"), "unmatched }")
        XCTAssertEqual(templateError("orders:}"), "unmatched }")
        XCTAssertEqual(templateError("{key}{partition}"), "two placeholders must be separated by text")
        XCTAssertEqual(templateError("o:{partition}{header:h}"), "two placeholders must be separated by text")
        XCTAssertEqual(templateError("o:{key}{topic}{key}", topic: ""), "two placeholders must be separated by text",
                       "an empty topic is no text between them")
        XCTAssertEqual(templateError(""), "empty")
        XCTAssertEqual(templateError("{topic}", topic: ""), "empty")
    }

    func testStrayClosingBraceIsRefusedWherever() throws {
        // A `}` before a placeholder is as stray as one after the last: the template cannot mean it.
        XCTAssertEqual(templateError("orders:x}.{key}"), "unmatched }")
        XCTAssertEqual(templateError("orders}:{key}"), "unmatched }")
        XCTAssertEqual(templateError("a}b:{partition}.x"), "unmatched }")
        let yaml = Self.namespaces + "kafka:\n  brokers: [\"k:9092\"]\n  bridges:\n    - topic: orders\n      channel: \"orders:x}.{key}\"\n"
        XCTAssertEqual(try loadError(yaml: yaml), #"kafka.bridges[0].channel: invalid template "orders:x}.{key}": unmatched }"#)
    }

    // MARK: Channel templates: records to channels

    private func record(topic: String = "orders", partition: Int32 = 0, offset: Int64 = 0, key: [UInt8]?,
                        headers: [(name: String, value: [UInt8])] = [], value: [UInt8]? = Array("{}".utf8)) -> KafkaRecord {
        KafkaRecord(topic: topic, partition: partition, offset: offset, key: key, headers: headers, value: value)
    }

    private func record(topic: String = "orders", partition: Int32 = 0, offset: Int64 = 0, key: String?,
                        headers: [(String, String)] = [], value: String? = "{}") -> KafkaRecord {
        record(topic: topic, partition: partition, offset: offset, key: key.map { Array($0.utf8) },
               headers: headers.map { ($0.0, Array($0.1.utf8)) }, value: value.map { Array($0.utf8) })
    }

    func testChannelOfARecord() throws {
        let byKey = try ChannelTemplate("{topic}:{key}", topic: "orders")
        XCTAssertEqual(byKey.channel(for: record(key: "42")), .success("orders:42"))
        XCTAssertEqual(byKey.channel(for: record(key: "é:ü")), .success("orders:é:ü"))
        XCTAssertEqual(byKey.channel(for: record(key: nil as String?)), .failure(.noKey))
        XCTAssertEqual(byKey.channel(for: record(key: "")), .failure(.noKey))
        XCTAssertEqual(byKey.channel(for: record(key: [0x66, 0xFF, 0x6F] as [UInt8])), .failure(.noKey), "not UTF-8")
        XCTAssertEqual(byKey.channel(for: record(key: [0xED, 0xA0, 0x80] as [UInt8])), .failure(.noKey), "a surrogate")

        let byPartition = try ChannelTemplate("p:{partition}", topic: "t")
        XCTAssertEqual(byPartition.channel(for: record(partition: 7, key: nil as String?)), .success("p:7"),
                       "{partition} needs no key")

        let byHeader = try ChannelTemplate("tenant:{header:tenant}.{key}", topic: "t")
        XCTAssertEqual(byHeader.channel(for: record(key: "k", headers: [("tenant", "acme")])), .success("tenant:acme.k"))
        XCTAssertEqual(byHeader.channel(for: record(key: "k", headers: [("tenant", "a"), ("other", "x"), ("tenant", "b")])),
                       .success("tenant:b.k"), "the last header of the name, as Kafka's clients read them")
        XCTAssertEqual(byHeader.channel(for: record(key: "k", headers: [("Tenant", "acme")])), .failure(.missingHeader),
                       "header names are case-sensitive")
        XCTAssertEqual(byHeader.channel(for: record(key: "k", headers: [("tenant", "")])), .failure(.missingHeader))
        XCTAssertEqual(byHeader.channel(for: record(key: [0x6B], headers: [("tenant", [0xC3, 0x28])])),
                       .failure(.missingHeader), "not UTF-8")
        XCTAssertEqual(byHeader.channel(for: record(key: "k")), .failure(.missingHeader))
    }

    // MARK: Channel templates: channels back to record fields

    /// The fields as one readable line, or nil.
    private func fields(_ template: ChannelTemplate, _ channel: String) -> String? {
        guard let fields = template.fields(of: channel) else { return nil }
        var text: [String] = []
        if let partition = fields.partition { text.append("partition=\(partition)") }
        if let key = fields.key { text.append("key=" + String(decoding: key, as: UTF8.self)) }
        for header in fields.headers { text.append("\(header.name)=" + String(decoding: header.value, as: UTF8.self)) }
        return text.joined(separator: " ")
    }

    /// The record a publish into `channel` produces maps back to `channel`.
    private func assertRoundTrip(_ template: ChannelTemplate, _ channel: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let fields = template.fields(of: channel) else {
            return XCTFail("\(channel) does not map back", file: file, line: line)
        }
        let produced = record(partition: fields.partition ?? 0, key: fields.key, headers: fields.headers)
        XCTAssertEqual(template.channel(for: produced), .success(channel), file: file, line: line)
    }

    func testFieldsOfAChannel() throws {
        let byKey = try ChannelTemplate("orders:{key}", topic: "orders")
        XCTAssertEqual(fields(byKey, "orders:42"), "key=42")
        XCTAssertEqual(fields(byKey, "orders:a:b"), "key=a:b", "the last placeholder takes the rest")

        let mixed = try ChannelTemplate("t:{partition}.{key}/{header:region}", topic: "t")
        XCTAssertEqual(fields(mixed, "t:3.abc/eu-west"), "partition=3 key=abc region=eu-west")
        XCTAssertEqual(fields(mixed, "t:3.a.b/eu"), "partition=3 key=a.b region=eu")

        let twice = try ChannelTemplate("k:{key}-{key}", topic: "t")
        XCTAssertEqual(fields(twice, "k:x-x"), "key=x")
        XCTAssertNil(fields(twice, "k:x-y"), "one key cannot be two values")
    }

    func testChannelsOfOtherShapesHaveNoFields() throws {
        let byKey = try ChannelTemplate("orders:{key}", topic: "orders")
        for channel in ["news:42", "orders", "orders:", "Orders:42", "xorders:42", ""] {
            XCTAssertNil(byKey.fields(of: channel), channel)
        }
        let suffixed = try ChannelTemplate("o:{key}.v1", topic: "t")
        XCTAssertEqual(fields(suffixed, "o:abc.v1"), "key=abc")
        XCTAssertNil(fields(suffixed, "o:abc.v2"))
        XCTAssertNil(fields(suffixed, "o:.v1"), "an empty key")
        XCTAssertNil(fields(suffixed, "o:abc.v1x"), "text after the template's end")
        let fixed = try ChannelTemplate("{topic}", topic: "orders")
        XCTAssertEqual(fields(fixed, "orders"), "")
        XCTAssertNil(fields(fixed, "orders2"))
    }

    func testPartitionMustBeWrittenAsTheTemplateWritesIt() throws {
        let template = try ChannelTemplate("p:{partition}:x", topic: "t")
        XCTAssertEqual(fields(template, "p:0:x"), "partition=0")
        XCTAssertEqual(fields(template, "p:2147483647:x"), "partition=2147483647")
        for channel in ["p:01:x", "p:+1:x", "p:-1:x", "p:-0:x", "p: 1:x", "p:1a:x", "p:a:x", "p::x", "p:2147483648:x",
                        "p:١:x", "p:1.0:x"] {
            XCTAssertNil(template.fields(of: channel), channel)
        }
    }

    func testChannelFieldsRoundTripThroughARecord() throws {
        let cases: [(String, [String])] = [
            ("orders:{key}", ["orders:1", "orders:a:b", "orders:é😀", "orders:{key}"]),
            ("t:{partition}.{key}/{header:region}", ["t:0.k/eu", "t:12.a.b/c/d", "t:3.k//"]),
            ("{header:tenant}-{key}", ["acme-1", "a-b-c"]),
            ("o:{key}.v1", ["o:a.v1", "o:a.b.v1"]),
            ("fixed:{topic}", ["fixed:orders"]),
        ]
        for (text, channels) in cases {
            let template = try ChannelTemplate(text, topic: "orders")
            for channel in channels { assertRoundTrip(template, channel) }
        }
    }

    func testAHeaderNamedTwiceMapsBackOnlyWhenBothValuesAgree() throws {
        let template = try ChannelTemplate("h:{header:a}-{header:a}", topic: "t")
        assertRoundTrip(template, "h:p-p")
        // A record carries one value per header name (the last one), so "h:p-q" is no record's channel: a
        // publish into it would produce a record that the tail delivers to "h:q-q".
        XCTAssertEqual(template.channel(for: record(key: nil as String?, headers: [("a", "p"), ("a", "q")])), .success("h:q-q"))
        XCTAssertNil(template.fields(of: "h:p-q"))
    }

    func testAKeyHoldingTheTextAfterItDoesNotMapBack() throws {
        // Documented: a placeholder's value runs to the next occurrence of the text after it.
        let template = try ChannelTemplate("t:{key}:{partition}", topic: "t")
        XCTAssertEqual(template.channel(for: record(partition: 3, key: "a:b")), .success("t:a:b:3"))
        XCTAssertNil(template.fields(of: "t:a:b:3"))
    }

    // MARK: Record value formats

    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    func testJSONValuesPassAsTheyAre() {
        for value in [#"{"a":[1,2.5e3,true,null,"x"]}"#, "1", #""text""#, "[]", " {\n} ", "null"] {
            XCTAssertEqual(RecordDataFormat.json.publicationData(bytes(value)), .success(bytes(value)), value)
        }
        for value in ["", "{", "{} {}", "{'a':1}", "NaN", "hello", #"{"a":1,}"#] {
            XCTAssertEqual(RecordDataFormat.json.publicationData(bytes(value)), .failure(.notJSON), value)
        }
        XCTAssertEqual(RecordDataFormat.json.publicationData([0x22, 0xFF, 0x22]), .failure(.notJSON),
                       "a JSON string of invalid UTF-8 would break the clients' text frames")
        XCTAssertEqual(RecordDataFormat.json.publicationData([0xEF, 0xBB, 0xBF] + bytes("{}")), .failure(.notJSON),
                       "a byte order mark")
    }

    func testStringValuesBecomeJSONStrings() {
        XCTAssertEqual(RecordDataFormat.string.publicationData(bytes("hello")), .success(bytes(#""hello""#)))
        XCTAssertEqual(RecordDataFormat.string.publicationData(bytes("")), .success(bytes(#""""#)))
        XCTAssertEqual(RecordDataFormat.string.publicationData(bytes("a\"b\\c\nd\r\te\u{1}\u{1F}/é😀")),
                       .success(bytes(#""a\"b\\c\nd\r\te\u0001\u001f/é😀""#)))
        XCTAssertEqual(RecordDataFormat.string.publicationData(bytes("{\"a\":1}")), .success(bytes(#""{\"a\":1}""#)),
                       "JSON text is still text")
        for invalid: [UInt8] in [[0xFF], [0x61, 0xC3, 0x28], [0xED, 0xA0, 0x80], [0xC0, 0xAF], [0xE2, 0x82]] {
            XCTAssertEqual(RecordDataFormat.string.publicationData(invalid), .failure(.notUTF8), "\(invalid)")
        }
    }

    func testBase64ValuesCarryAnyBytes() throws {
        XCTAssertEqual(RecordDataFormat.base64.publicationData([0, 1, 2, 0xFE, 0xFF]), .success(bytes(#""AAEC/v8=""#)))
        XCTAssertEqual(RecordDataFormat.base64.publicationData([]), .success(bytes(#""""#)))
        XCTAssertEqual(RecordDataFormat.base64.publicationData(bytes("hi")), .success(bytes(#""aGk=""#)))
        let all = (0...255).map { UInt8($0) }
        let data = try RecordDataFormat.base64.publicationData(all).get()
        XCTAssertEqual(try JSONParser.parse(data), .string(Data(all).base64EncodedString()))
    }

    func testPublicationDataBackToRecordValues() {
        XCTAssertEqual(RecordDataFormat.json.recordValue(bytes(#"{"a":1}"#)), bytes(#"{"a":1}"#))
        XCTAssertEqual(RecordDataFormat.string.recordValue(bytes(#""a\"b\n\u00e9\ud83d\ude00""#)), bytes("a\"b\né😀"))
        XCTAssertEqual(RecordDataFormat.base64.recordValue(bytes(#""AAEC/v8=""#)), [0, 1, 2, 0xFE, 0xFF])
        XCTAssertEqual(RecordDataFormat.base64.recordValue(bytes(#""""#)), [])
        // `string` and `base64` carry a JSON string only; `base64` one of base64.
        for data in [#"{"a":1}"#, "1", "null", "[\"a\"]", "true"] {
            XCTAssertNil(RecordDataFormat.string.recordValue(bytes(data)), data)
            XCTAssertNil(RecordDataFormat.base64.recordValue(bytes(data)), data)
        }
        for data in [#""not base64!""#, #""%%%%""#, #""AAEC*v8=""#] {
            XCTAssertNil(RecordDataFormat.base64.recordValue(bytes(data)), data)
        }
    }

    func testEveryFormatRoundTripsItsValues() throws {
        let texts = ["", "plain", "a\"b\\c\nd\u{0}\u{7F}", "é😀\u{2028}"]
        for text in texts {
            let data = try RecordDataFormat.string.publicationData(bytes(text)).get()
            XCTAssertEqual(RecordDataFormat.string.recordValue(data), bytes(text), text)
        }
        var generator = SplitMix64(seed: 7)
        for length in [0, 1, 2, 3, 4, 5, 64, 1_000] {
            let value = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            let data = try RecordDataFormat.base64.publicationData(value).get()
            XCTAssertEqual(RecordDataFormat.base64.recordValue(data), value, "\(length) bytes")
        }
        let json = bytes(#"{"a":[1,2,{"b":"c"}]}"#)
        XCTAssertEqual(RecordDataFormat.json.recordValue(try RecordDataFormat.json.publicationData(json).get()), json)
    }

    // MARK: Configuration

    private var temporaryFiles: [String] = []

    override func tearDown() {
        for file in temporaryFiles { try? FileManager.default.removeItem(atPath: file) }
        temporaryFiles = []
        super.tearDown()
    }

    private func load(yaml: String, environment: [String: String] = [:]) throws -> (config: HeraldConfig, warnings: [String]) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("herald-kafka-\(UUID().uuidString).yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        temporaryFiles.append(path)
        return try ConfigLoader.load(file: path, environment: environment, overrides: ConfigOverrides())
    }

    /// The loader's error as a user reads it, `key.path: problem`; nil when the file loads.
    private func loadError(yaml: String) throws -> String? {
        do {
            _ = try load(yaml: yaml)
            return nil
        } catch let error as ConfigError {
            return error.description
        }
    }

    private static let namespaces = """
        channel:
          namespaces:
            - name: orders
              history_size: 100
              history_ttl: 60s
            - name: audit
              history_size: 100
              history_ttl: 60s
              durable: fsync

        """

    func testKafkaSectionLoadsFromYAML() throws {
        let yaml = Self.namespaces + """
            kafka:
              brokers: ["kafka-1:9092", "kafka-2:9093"]
              librdkafka:
                security.protocol: SASL_SSL
                sasl.username: herald
                linger.ms: 5
                enable.idempotence: true
                queue.buffering.max.kbytes: 1048576
                socket.timeout.ms: "60000"
                batch.num.messages: 1.5e3
              bridges:
                - topic: orders
                  channel: "orders:{key}"
                - topic: payments
                  channel: "orders:{topic}-{partition}"
                  data: string
                  start: earliest
                - topic: blobs
                  channel: "orders:blob.{header:id}"
                  data: base64
              dead_letter_topic: herald-dead
              catch_up_readers: 4
              catch_up_max_scan: 5000
            """
        let (config, warnings) = try load(yaml: yaml)
        XCTAssertEqual(warnings, [])
        let kafka = config.kafka
        XCTAssertTrue(kafka.enabled)
        XCTAssertEqual(kafka.brokers, ["kafka-1:9092", "kafka-2:9093"])
        XCTAssertEqual(kafka.librdkafka, [
            "security.protocol": "SASL_SSL",
            "sasl.username": "herald",
            "linger.ms": "5",
            "enable.idempotence": "true",
            "queue.buffering.max.kbytes": "1048576",
            "socket.timeout.ms": "60000",
            "batch.num.messages": "1.5e3",
        ], "numbers and booleans are kept as written, for librdkafka")
        XCTAssertEqual(kafka.bridges, [
            KafkaBridgeConfig(topic: "orders", channel: "orders:{key}", data: .json, start: .latest),
            KafkaBridgeConfig(topic: "payments", channel: "orders:{topic}-{partition}", data: .string, start: .earliest),
            KafkaBridgeConfig(topic: "blobs", channel: "orders:blob.{header:id}", data: .base64, start: .latest),
        ])
        XCTAssertEqual(kafka.deadLetterTopic, "herald-dead")
        XCTAssertEqual(kafka.catchUpReaders, 4)
        XCTAssertEqual(kafka.catchUpMaxScan, 5000)
    }

    func testKafkaDefaultsAndEnvironment() throws {
        let (config, _) = try load(yaml: "kafka:\n  brokers: [\"k:9092\"]\n")
        XCTAssertFalse(config.kafka.enabled, "no bridges: off")
        XCTAssertEqual(config.kafka.librdkafka, [:])
        XCTAssertEqual(config.kafka.deadLetterTopic, "")
        XCTAssertEqual(config.kafka.catchUpReaders, 2)
        XCTAssertEqual(config.kafka.catchUpMaxScan, 1_000_000)

        let environment = [
            "HERALD_KAFKA_BROKERS": "a:9092 b:9092",
            "HERALD_KAFKA_BRIDGES": #"[{"topic": "orders", "channel": "orders:{key}", "data": "string"}]"#,
            "HERALD_KAFKA_LIBRDKAFKA": #"{"acks": "all", "linger.ms": 10}"#,
            "HERALD_KAFKA_CATCH_UP_READERS": "3",
        ]
        let (fromEnvironment, warnings) = try load(yaml: Self.namespaces, environment: environment)
        XCTAssertEqual(warnings, [])
        XCTAssertEqual(fromEnvironment.kafka.brokers, ["a:9092", "b:9092"])
        XCTAssertEqual(fromEnvironment.kafka.bridges, [KafkaBridgeConfig(topic: "orders", channel: "orders:{key}", data: .string)])
        XCTAssertEqual(fromEnvironment.kafka.librdkafka, ["acks": "all", "linger.ms": "10"])
        XCTAssertEqual(fromEnvironment.kafka.catchUpReaders, 3)
    }

    func testKafkaTypeErrorsAndWarningsNameTheKey() throws {
        let bridge = "kafka:\n  brokers: [\"k:9092\"]\n  bridges:\n    - topic: orders\n      channel: \"orders:{key}\"\n"
        XCTAssertEqual(try loadError(yaml: Self.namespaces + bridge + "      data: avro\n"),
                       #"kafka.bridges[0].data: expected one of "json", "string", "base64", got "avro""#)
        XCTAssertEqual(try loadError(yaml: Self.namespaces + bridge + "      start: beginning\n"),
                       #"kafka.bridges[0].start: expected one of "latest", "earliest", got "beginning""#)
        XCTAssertEqual(try loadError(yaml: Self.namespaces + bridge + "  catch_up_readers: two\n"),
                       "kafka.catch_up_readers: expected an integer")
        XCTAssertEqual(try loadError(yaml: Self.namespaces + bridge + "  librdkafka: [a]\n"),
                       "kafka.librdkafka: expected an object")
        XCTAssertEqual(try loadError(yaml: "kafka:\n  brokers: k:9092\n"), "kafka.brokers: expected a list")
        let (_, warnings) = try load(yaml: Self.namespaces + bridge + "      partitions: 3\n  group_id: herald\n")
        XCTAssertEqual(warnings, ["unknown key kafka.bridges[0].partitions ignored", "unknown key kafka.group_id ignored"])
    }

    func testKafkaValidationErrorsNameTheKey() throws {
        let brokers = "kafka:\n  brokers: [\"k:9092\"]\n"
        func bridges(_ entries: [(topic: String, channel: String)]) -> String {
            "  bridges:\n" + entries.map { "    - topic: \"\($0.topic)\"\n      channel: \"\($0.channel)\"\n" }.joined()
        }
        let cases: [(String, String)] = [
            ("kafka:\n" + bridges([("orders", "orders:{key}")]), "kafka.brokers: needed by kafka.bridges"),
            (brokers + bridges([("", "orders:{key}")]), "kafka.bridges[0].topic: must not be empty"),
            (brokers + bridges([("orders", "orders:{key}"), ("orders", "orders:{partition}")]),
             #"kafka.bridges[1].topic: topic "orders" is bridged twice"#),
            (brokers + bridges([("orders", "orders:{id}")]),
             #"kafka.bridges[0].channel: invalid template "orders:{id}": unknown placeholder {id} (use {topic}, {partition}, {key} or {header:NAME})"#),
            (brokers + bridges([("orders", "orders:{key")]), #"kafka.bridges[0].channel: invalid template "orders:{key": unclosed {"#),
            (brokers + bridges([("orders", "orders:{key}{partition}")]),
             #"kafka.bridges[0].channel: invalid template "orders:{key}{partition}": two placeholders must be separated by text"#),
            (brokers + bridges([("orders", "")]), #"kafka.bridges[0].channel: invalid template "": empty"#),
            (brokers + bridges([("orders", "shop:{key}")]), #"kafka.bridges[0].channel: namespace "shop" is not in channel.namespaces"#),
            (brokers + bridges([("shop", "{topic}:{key}")]), #"kafka.bridges[0].channel: namespace "shop" is not in channel.namespaces"#),
            (brokers + bridges([("audit", "audit:{key}")]),
             #"kafka.bridges[0].channel: namespace "audit" is durable: a bridged channel's log is Kafka"#),
            (brokers + bridges([("orders", "orders:{key}")]) + "  catch_up_readers: 0\n", "kafka.catch_up_readers: must be positive, got 0"),
            (brokers + bridges([("orders", "orders:{key}")]) + "  catch_up_max_scan: -1\n",
             "kafka.catch_up_max_scan: must be positive, got -1"),
        ]
        for (yaml, expected) in cases {
            XCTAssertEqual(try loadError(yaml: Self.namespaces + yaml), expected, yaml)
        }
        // Without bridges the section is off and not checked.
        XCTAssertNil(try loadError(yaml: Self.namespaces + "kafka:\n  catch_up_readers: 0\n"))
        // The bridge refuses what validation refuses, with the same words.
        var settings = HeraldConfig.Kafka()
        settings.bridges = [KafkaBridgeConfig(topic: "orders", channel: "orders:{key")]
        XCTAssertThrowsError(try KafkaBridge(settings: settings, logger: quietLogger)) { error in
            XCTAssertEqual((error as? ConfigError)?.description, #"kafka.bridges[0].channel: invalid template "orders:{key": unclosed {"#)
        }
    }

    func testBridgedChannelsWithoutNamespaceMustNotBeDurable() throws {
        // "{topic}" and "news-{partition}" give channels without ':', so in no namespace, whatever the record.
        let durable = "channel:\n  without_namespace:\n    history_size: 10\n    history_ttl: 60s\n    durable: fsync\n"
        for template in ["{topic}", "news-{partition}"] {
            let yaml = durable + "kafka:\n  brokers: [\"k:9092\"]\n  bridges:\n    - topic: news\n      channel: \"\(template)\"\n"
            let error = try loadError(yaml: yaml)
            XCTAssertNotNil(error, "\(template) bridged into the durable channels without namespace")
            XCTAssertTrue(error?.hasPrefix("kafka.bridges[0].channel: ") ?? false, error ?? "")
        }
    }

    // MARK: Channel streams with non-consecutive offsets

    private func publication(_ offset: UInt64, time: Int64 = 1_000, bytes: Int = 1) -> HistoryPublication {
        HistoryPublication(offset: offset, time: time, data: Array(repeating: UInt8(ascii: "1"), count: bytes), info: nil)
    }

    private func limits(size: Int = 100, ttl: Int64 = 60_000, maxBytes: Int = 0) -> HistoryLimits {
        var options = NamespaceOptions()
        options.historySize = size
        options.historyTTL = .milliseconds(ttl)
        options.historyMaxBytes = maxBytes
        return HistoryLimits(options)
    }

    /// A bridged channel's stream: bound at Kafka channel offset 9 (it knows the channel from 10 on), then
    /// records at 10, 13 and 20, the offsets between belonging to other channels of the partition.
    private func bridgedStream(_ limits: HistoryLimits? = nil, offsets: [UInt64] = [10, 13, 20]) -> ChannelStream {
        var stream = ChannelStream(epoch: "K", top: 9, coveredFrom: 10)
        for offset in offsets { stream.append(publication(offset), limits: limits ?? self.limits()) }
        return stream
    }

    func testPublicationsAfterAnyOffsetOfAGappedStream() {
        let stream = bridgedStream()
        XCTAssertEqual(stream.position, StreamPosition(offset: 20, epoch: "K"))
        XCTAssertEqual(stream.coveredFrom, 10)
        XCTAssertEqual(stream.firstOffset, 10)
        let after: [UInt64: [UInt64]] = [
            0: [10, 13, 20], 9: [10, 13, 20], 10: [13, 20], 11: [13, 20], 12: [13, 20], 13: [20], 14: [20], 19: [20],
            20: [], 21: [], 1_000: [],
        ]
        for (offset, expected) in after {
            XCTAssertEqual(stream.publications(after: offset, limit: nil).map(\.offset), expected, "after \(offset)")
        }
        XCTAssertEqual(stream.publications(after: 11, limit: 1).map(\.offset), [13])
        XCTAssertEqual(stream.publications(after: 0, limit: 2).map(\.offset), [10, 13])
        XCTAssertEqual(stream.publications(after: 12, limit: 0).map(\.offset), [])
        XCTAssertEqual(stream.publications(after: 12, limit: .max).map(\.offset), [13, 20])
    }

    func testPublicationAtAnOffsetIsOnlyThere() {
        let stream = bridgedStream()
        for offset: UInt64 in [10, 13, 20] { XCTAssertEqual(stream.publication(at: offset)?.offset, offset) }
        for offset: UInt64 in [0, 1, 9, 11, 12, 14, 19, 21, .max] { XCTAssertNil(stream.publication(at: offset), "\(offset)") }
    }

    func testTrimmingMovesCoveredFromPastTheDroppedOffset() {
        let bySize = bridgedStream(limits(size: 2))
        XCTAssertEqual(bySize.publications.map(\.offset), [13, 20])
        XCTAssertEqual(bySize.coveredFrom, 11, "it still knows the channel had nothing at 11 and 12")
        // 65 bytes each (data + 64): 130 bytes keep two.
        var byBytes = bridgedStream(limits(maxBytes: 130))
        XCTAssertEqual(byBytes.publications.map(\.offset), [13, 20])
        XCTAssertEqual(byBytes.coveredFrom, 11)
        byBytes.append(publication(25), limits: limits(maxBytes: 130))
        XCTAssertEqual(byBytes.publications.map(\.offset), [20, 25])
        XCTAssertEqual(byBytes.coveredFrom, 14)
        var byAge = bridgedStream()
        byAge.trim(now: 1_000 + 60_000, limits: limits())
        XCTAssertEqual(byAge.count, 0)
        XCTAssertEqual(byAge.coveredFrom, 21)
        XCTAssertEqual(byAge.firstOffset, 21)
        XCTAssertEqual(byAge.position, StreamPosition(offset: 20, epoch: "K"))
    }

    func testStreamFromKeptPublicationsCoversFromTheFirst() {
        let stream = ChannelStream(epoch: "K", top: 20, publications: [publication(10), publication(13), publication(20)])
        XCTAssertEqual(stream.coveredFrom, 10)
        XCTAssertEqual(ChannelStream(epoch: "K", top: 20).coveredFrom, 21)
    }

    func testRebindStartsEmptyInTheNewEpoch() {
        var stream = bridgedStream()
        stream.rebind(epoch: "L", top: 40, coveredFrom: 35)
        XCTAssertEqual(stream.position, StreamPosition(offset: 40, epoch: "L"))
        XCTAssertEqual(stream.coveredFrom, 35)
        XCTAssertEqual(stream.count, 0)
        XCTAssertEqual(stream.byteCount, 0)
        XCTAssertEqual(stream.firstOffset, 41)
        stream.append(publication(44), limits: limits())
        XCTAssertEqual(stream.publications(after: 34, limit: nil).map(\.offset), [44])
        XCTAssertNil(stream.publication(at: 20), "the old epoch's publications are gone")
    }

    func testPinHoldsPublicationsFromItsOffsetUpToTheSlack() {
        var stream = bridgedStream(limits(size: 2), offsets: [10, 13])
        stream.pin(13, slack: 3)
        stream.append(publication(20), limits: limits(size: 2))
        XCTAssertEqual(stream.publications.map(\.offset), [13, 20], "before the pin: trimmed as usual")
        for offset: UInt64 in [21, 22, 23] { stream.append(publication(offset), limits: limits(size: 2)) }
        XCTAssertEqual(stream.publications.map(\.offset), [13, 20, 21, 22, 23], "held: 2 + 3")
        stream.append(publication(24), limits: limits(size: 2))
        XCTAssertEqual(stream.publications.map(\.offset), [20, 21, 22, 23, 24], "not beyond the slack")
        XCTAssertEqual(stream.coveredFrom, 14)
        stream.unpin(13)
        stream.append(publication(25), limits: limits(size: 2))
        XCTAssertEqual(stream.publications.map(\.offset), [24, 25])
    }

    func testStreamRecoveryAcrossGaps() throws {
        let stream = bridgedStream(limits(size: 2))  // 13, 20 kept; covered from 11
        func join(_ offset: UInt64, epoch: String = "K", max: Int = 100, reject: Bool = false) throws(ProtocolError) -> Recovery {
            try Recovery.join(stream, mode: .stream, enabled: true,
                              request: .init(recover: true, offset: offset, epoch: epoch, rejectUnrecovered: reject),
                              maxPublications: max)
        }
        for (offset, missed) in [(10, [13, 20]), (11, [13, 20]), (12, [13, 20]), (13, [20]), (17, [20]), (20, [])] as [(UInt64, [UInt64])] {
            let recovery = try join(offset)
            XCTAssertTrue(recovery.recovered, "from \(offset)")
            XCTAssertEqual(recovery.publications.map(\.offset), missed, "from \(offset)")
            XCTAssertEqual(recovery.position, StreamPosition(offset: offset, epoch: "K"))
        }
        XCTAssertTrue(try join(10, epoch: "").recovered, "no epoch: this one")
        for offset: UInt64 in [0, 8, 9] {
            let recovery = try join(offset)
            XCTAssertFalse(recovery.recovered, "from \(offset): 10 was dropped")
            XCTAssertEqual(recovery.publications, [])
            XCTAssertEqual(recovery.position, StreamPosition(offset: 20, epoch: "K"))
        }
        XCTAssertFalse(try join(10, max: 1).recovered, "two missed, one allowed")
        XCTAssertTrue(try join(13, max: 1).recovered)
        XCTAssertFalse(try join(13, epoch: "other").recovered)
        XCTAssertThrowsError(try join(21)) { XCTAssertEqual($0 as? ProtocolError, .badRequest) }
        XCTAssertThrowsError(try join(9, reject: true)) { XCTAssertEqual($0 as? ProtocolError, .unrecoverablePosition) }

        let unbound = bridgedStream()  // covered from 10: a position at 9 misses nothing Kafka had for it
        let fromNine = try Recovery.join(unbound, mode: .stream, enabled: true,
                                         request: .init(recover: true, offset: 9, epoch: "K"), maxPublications: 100)
        XCTAssertTrue(fromNine.recovered)
        XCTAssertEqual(fromNine.publications.map(\.offset), [10, 13, 20])
        let fromEight = try Recovery.join(unbound, mode: .stream, enabled: true,
                                          request: .init(recover: true, offset: 8, epoch: "K"), maxPublications: 100)
        XCTAssertFalse(fromEight.recovered)
    }

    // MARK: Partition epochs

    private static let epochAlphabet = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")

    func testKafkaEpochIsEightCharactersAndTheSameOnEveryNode() {
        let epoch = StreamPosition.kafkaEpoch(topic: "orders", partition: 3, generation: 0)
        XCTAssertEqual(epoch.count, 8)
        XCTAssertTrue(epoch.allSatisfy(Self.epochAlphabet.contains), epoch)
        XCTAssertEqual(StreamPosition.kafkaEpoch(topic: "orders", partition: 3, generation: 0), epoch)
        XCTAssertEqual(StreamPosition.newEpoch().count, epoch.count, "as long as Herald's random epochs")
    }

    func testKafkaEpochDiffersByTopicPartitionAndGeneration() {
        var seen: Set<String> = []
        var count = 0
        for topic in ["orders", "orders2", "Orders", "payments", "o", ""] {
            for partition: Int32 in [0, 1, 2, 10, 11, 100, 1_000, .max] {
                for generation in 0..<8 {
                    let epoch = StreamPosition.kafkaEpoch(topic: topic, partition: partition, generation: generation)
                    XCTAssertEqual(epoch.count, 8)
                    XCTAssertTrue(epoch.allSatisfy(Self.epochAlphabet.contains), epoch)
                    seen.insert(epoch)
                    count += 1
                }
            }
        }
        XCTAssertEqual(seen.count, count)
    }

    // MARK: The bridge without a broker

    private var quietLogger: Logger { Logger(label: "kafka-test") { _ in SwiftLogNoOpLogHandler() } }

    /// Records what the bridge produces and reads, and answers when the test says.
    private final class FakeLink: KafkaLink, @unchecked Sendable {
        typealias ProduceCompletion = @Sendable (Result<(partition: Int32, offset: Int64), KafkaFailure>) -> Void
        var produced: [(record: OutgoingRecord, completion: ProduceCompletion)] = []
        /// What `read` finds in Kafka; `read` answers at once.
        var log: [KafkaRecord] = []
        var reads: [(topic: String, partition: Int32, from: Int64, until: Int64)] = []

        func produce(_ record: OutgoingRecord, completion: @escaping ProduceCompletion) {
            produced.append((record, completion))
        }

        func read(topic: String, partition: Int32, from: Int64, until: Int64, visit: @escaping @Sendable (KafkaRecord) -> Bool,
                  completion: @escaping @Sendable (Result<Int64, KafkaFailure>) -> Void) {
            reads.append((topic, partition, from, until))
            for record in log where record.topic == topic && record.partition == partition
                && record.offset >= from && record.offset < until {
                guard visit(record) else { return completion(.success(record.offset + 1)) }
            }
            completion(.success(until))
        }
    }

    private final class Box<Value>: @unchecked Sendable {
        var value: Value?
    }

    /// A node with namespaces `orders` (history) and `metrics` (none), and a bridge of topic `orders` into
    /// `orders:{key}` (json) and of topic `metrics` into `metrics:p{partition}` (string); every partition of
    /// both (4 each) started at offset 100.
    private func makeBridge(_ configure: (inout HeraldConfig.Kafka) -> Void = { _ in }) throws -> (KafkaBridge, Node) {
        var config = HeraldConfig.secureDefaults
        var orders = Namespace(name: "orders")
        orders.options.historySize = 100
        orders.options.historyTTL = .seconds(60)
        config.channel.namespaces = [orders, Namespace(name: "metrics")]
        config.kafka.brokers = ["localhost:9092"]
        config.kafka.bridges = [
            KafkaBridgeConfig(topic: "orders", channel: "orders:{key}"),
            KafkaBridgeConfig(topic: "metrics", channel: "metrics:p{partition}", data: .string),
        ]
        configure(&config.kafka)
        try config.validate()
        let bridge = try KafkaBridge(settings: config.kafka, logger: quietLogger)
        let node = Node(config: config, version: "test", name: "test", wakers: [{}], bridge: bridge)
        for topic in ["orders", "metrics"] {
            for partition: Int32 in 0..<4 { bridge.started(topic: topic, partition: partition, from: 100) }
        }
        return (bridge, node)
    }

    private func stream(_ node: Node, _ channel: String) -> ChannelStream {
        node.history.entry(channel).stream.withLock { $0 }
    }

    private func epoch(_ topic: String, _ partition: Int32, generation: Int = 0) -> String {
        StreamPosition.kafkaEpoch(topic: topic, partition: partition, generation: generation)
    }

    func testRecordsBecomePublicationsAtTheirKafkaPositions() throws {
        let (bridge, node) = try makeBridge()
        // "order-1" is in partition 2; other channels' records sit between its own.
        bridge.receive(record(partition: 2, offset: 100, key: "order-1", value: #"{"n":1}"#))
        bridge.receive(record(partition: 2, offset: 101, key: "order-5", value: #"{"n":2}"#))
        bridge.receive(record(partition: 2, offset: 102, key: "order-1", value: "{\"n\":\n3}"))
        let orders = stream(node, "orders:order-1")
        XCTAssertEqual(orders.position, StreamPosition(offset: 103, epoch: epoch("orders", 2)))
        XCTAssertEqual(orders.coveredFrom, 101)
        XCTAssertEqual(orders.publications.map(\.offset), [101, 103])
        XCTAssertEqual(orders.publications.map { String(decoding: $0.data, as: UTF8.self) }, [#"{"n":1}"#, #"{"n": 3}"#],
                       "on one line")
        XCTAssertEqual(stream(node, "orders:order-5").publications.map(\.offset), [102])
        let recovery = try Recovery.join(orders, mode: .stream, enabled: true,
                                         request: .init(recover: true, offset: 100, epoch: epoch("orders", 2)), maxPublications: 10)
        XCTAssertTrue(recovery.recovered, "a position from before the first record, after the tail's start")
        XCTAssertEqual(recovery.publications.map(\.offset), [101, 103])

        XCTAssertEqual(bridge.resumeOffset(topic: "orders", partition: 2), 103)
        XCTAssertEqual(bridge.resumeOffset(topic: "orders", partition: 0), 100)
        XCTAssertNil(bridge.resumeOffset(topic: "orders", partition: 9))
        XCTAssertNil(bridge.resumeOffset(topic: "unknown", partition: 0))
        withExtendedLifetime(node) {}
    }

    func testRecordsThatCannotBePublishedAreCountedAndTheTailGoesOn() throws {
        let (bridge, node) = try makeBridge()
        bridge.receive(record(partition: 1, offset: 100, key: nil as String?))
        bridge.receive(record(partition: 1, offset: 101, key: "k", value: nil as String?))
        bridge.receive(record(partition: 1, offset: 102, key: "k", value: "not json"))
        bridge.receive(record(partition: 1, offset: 103, key: "a b"))
        bridge.receive(record(topic: "metrics", partition: 1, offset: 100, key: nil as [UInt8]?, value: [0xFF]))
        bridge.receive(record(topic: "unbridged", partition: 1, offset: 100, key: "k"))
        bridge.receive(record(partition: 7, offset: 100, key: "k"))  // not started: not this node's
        bridge.receive(record(partition: 1, offset: 104, key: "k", value: #"{"ok":true}"#))
        let status = bridge.status()
        XCTAssertEqual(status.skipped, ["noKey": 1, "noValue": 1, "notJSON": 1, "badChannel": 1, "notUTF8": 1])
        XCTAssertEqual(status.records, 6)
        XCTAssertEqual(bridge.resumeOffset(topic: "orders", partition: 1), 105)
        XCTAssertEqual(stream(node, "orders:k").publications.map(\.offset), [105])
        withExtendedLifetime(node) {}
    }

    func testDeadLetterCopiesSayWhyAndWhence() throws {
        let (bridge, node) = try makeBridge { $0.deadLetterTopic = "dead" }
        let link = FakeLink()
        bridge.attach(link)
        bridge.receive(record(partition: 3, offset: 100, key: [0x6B], headers: [("h", [1])], value: Array("nope".utf8)))
        XCTAssertEqual(link.produced.count, 1)
        let copy = try XCTUnwrap(link.produced.first?.record)
        XCTAssertEqual(copy.topic, "dead")
        XCTAssertNil(copy.partition)
        XCTAssertEqual(copy.key, [0x6B])
        XCTAssertEqual(copy.value, Array("nope".utf8))
        XCTAssertEqual(copy.headers.map(\.name), ["h", "herald-error", "herald-source"])
        XCTAssertEqual(copy.headers.map { String(decoding: $0.value, as: UTF8.self) },
                       ["\u{1}", RecordProblem.notJSON.rawValue, "orders/3/100"])
        withExtendedLifetime(node) {}
    }

    func testAPartitionWhoseLogStartedOverGetsANewEpoch() throws {
        let (bridge, node) = try makeBridge()
        bridge.receive(record(partition: 2, offset: 100, key: "order-1"))
        bridge.receive(record(partition: 2, offset: 101, key: "order-1"))
        let before = stream(node, "orders:order-1")
        bridge.receive(record(partition: 2, offset: 0, key: "order-1", value: #"{"again":1}"#))
        let after = stream(node, "orders:order-1")
        XCTAssertEqual(after.position, StreamPosition(offset: 1, epoch: epoch("orders", 2, generation: 1)))
        XCTAssertEqual(after.coveredFrom, 1)
        XCTAssertEqual(after.publications.map(\.offset), [1])
        let old = try Recovery.join(after, mode: .stream, enabled: true,
                                    request: .init(recover: true, offset: 101, epoch: before.epoch), maxPublications: 10)
        XCTAssertFalse(old.recovered, "a position of the old log is refused, not misread")
        XCTAssertEqual(bridge.status().partitions.first { $0.topic == "orders" && $0.partition == 2 }?.epoch,
                       epoch("orders", 2, generation: 1))
        withExtendedLifetime(node) {}
    }

    func testStatusReportsPartitionsInOrderWithLag() throws {
        let (bridge, node) = try makeBridge()
        bridge.receive(record(partition: 0, offset: 100, key: "order-42"))
        bridge.highWatermark(topic: "orders", partition: 0, 110)
        bridge.connection(ok: true, detail: "up")
        let status = bridge.status()
        XCTAssertTrue(status.connected)
        XCTAssertEqual(status.detail, "up")
        XCTAssertEqual(status.partitions.map { "\($0.topic)/\($0.partition)" },
                       ["metrics/0", "metrics/1", "metrics/2", "metrics/3", "orders/0", "orders/1", "orders/2", "orders/3"])
        let first = try XCTUnwrap(status.partitions.first { $0.topic == "orders" && $0.partition == 0 })
        XCTAssertEqual(first.position, 101)
        XCTAssertEqual(first.lag, 9, "offsets 101...109")
        XCTAssertEqual(first.epoch, epoch("orders", 0))
        XCTAssertEqual(status.partitions.first { $0.topic == "orders" && $0.partition == 1 }?.lag, -1, "end not known yet")
        bridge.connection(ok: false, detail: "all brokers down")
        XCTAssertFalse(bridge.status().connected)
        XCTAssertEqual(bridge.status().detail, "all brokers down")
        withExtendedLifetime(node) {}
    }

    func testBindGivesAQuietChannelItsPartitionsEpochBeforeAnyRecord() throws {
        let (bridge, node) = try makeBridge()
        bridge.receive(record(partition: 0, offset: 100, key: "other"))
        var byKey = ChannelStream(epoch: "random1")
        bridge.bind("orders:order-42", &byKey)  // murmur2: partition 0 of 4
        XCTAssertEqual(byKey.position, StreamPosition(offset: 101, epoch: epoch("orders", 0)))
        XCTAssertEqual(byKey.coveredFrom, 101)
        let recovery = try Recovery.join(byKey, mode: .stream, enabled: true,
                                         request: .init(recover: true, offset: 101, epoch: epoch("orders", 0)), maxPublications: 10)
        XCTAssertTrue(recovery.recovered)

        var byPartition = ChannelStream(epoch: "random2")
        bridge.bind("metrics:p3", &byPartition)
        XCTAssertEqual(byPartition.position, StreamPosition(offset: 100, epoch: epoch("metrics", 3)))

        for channel in ["metrics:p9", "metrics:p03", "news:1", "orders:"] {
            var untouched = ChannelStream(epoch: "random3")
            bridge.bind(channel, &untouched)
            XCTAssertEqual(untouched.position, StreamPosition(offset: 0, epoch: "random3"), channel)
        }
        withExtendedLifetime(node) {}
    }

    func testCatchUpRangeIsWhatMemoryNoLongerCovers() throws {
        let (bridge, node) = try makeBridge()
        let bound = ChannelStream(epoch: epoch("orders", 2), top: 150, coveredFrom: 120)
        func range(_ offset: UInt64, epoch: String = "", recover: Bool = true) -> [UInt64]? {
            bridge.catchUpRange(bound, request: .init(recover: recover, offset: offset, epoch: epoch)).map { [$0.from, $0.until] }
        }
        XCTAssertEqual(range(100), [101, 120])
        XCTAssertEqual(range(0, epoch: self.epoch("orders", 2)), [1, 120])
        XCTAssertEqual(range(118), [119, 120])
        XCTAssertNil(range(119), "memory covers from 120")
        XCTAssertNil(range(140))
        XCTAssertNil(range(151), "past the top")
        XCTAssertNil(range(100, epoch: "other"))
        XCTAssertNil(range(100, recover: false))
        XCTAssertNil(bridge.catchUpRange(ChannelStream(epoch: "local", top: 150, coveredFrom: 120),
                                         request: .init(recover: true, offset: 100, epoch: "")),
                     "not a partition's epoch")
        withExtendedLifetime(node) {}
    }

    func testCatchUpReadsTheChannelsRecordsFromKafka() throws {
        let (bridge, node) = try makeBridge { $0.catchUpMaxScan = 50 }
        let link = FakeLink()
        bridge.attach(link)
        link.log = (40..<60).map { offset in
            record(partition: 2, offset: Int64(offset), key: offset % 3 == 0 ? "order-1" : "order-5", value: #"{"o":\#(offset)}"#)
        }
        let result = Box<Result<(publications: [HistoryPublication], through: UInt64), KafkaFailure>>()
        bridge.catchUp(channel: "orders:order-1", epoch: epoch("orders", 2), from: 41, until: 61,
                       maxPublications: 100, maxBytes: .max) { result.value = $0 }
        XCTAssertEqual(link.reads.map { [$0.from, $0.until] }, [[40, 60]], "channel offset = Kafka offset + 1")
        let (publications, through) = try XCTUnwrap(result.value).get()
        XCTAssertEqual(publications.map(\.offset), [43, 46, 49, 52, 55, 58])
        XCTAssertEqual(publications.first.map { String(decoding: $0.data, as: UTF8.self) }, #"{"o":42}"#)
        XCTAssertEqual(through, 60)
        XCTAssertEqual(bridge.status().catchUps, 1)

        let overflow = Box<Result<(publications: [HistoryPublication], through: UInt64), KafkaFailure>>()
        bridge.catchUp(channel: "orders:order-1", epoch: epoch("orders", 2), from: 41, until: 61,
                       maxPublications: 2, maxBytes: .max) { overflow.value = $0 }
        XCTAssertThrowsError(try XCTUnwrap(overflow.value).get()) { XCTAssertEqual($0 as? KafkaFailure, .tooFarBehind) }

        let tooFar = Box<Result<(publications: [HistoryPublication], through: UInt64), KafkaFailure>>()
        bridge.catchUp(channel: "orders:order-1", epoch: epoch("orders", 2), from: 1, until: 61,
                       maxPublications: 100, maxBytes: .max) { tooFar.value = $0 }
        XCTAssertThrowsError(try XCTUnwrap(tooFar.value).get()) { XCTAssertEqual($0 as? KafkaFailure, .tooFarBehind) }
        XCTAssertEqual(link.reads.count, 2, "past catch_up_max_scan: not read at all")

        let unknown = Box<Result<(publications: [HistoryPublication], through: UInt64), KafkaFailure>>()
        bridge.catchUp(channel: "orders:order-1", epoch: "nosuch", from: 41, until: 61,
                       maxPublications: 100, maxBytes: .max) { unknown.value = $0 }
        XCTAssertThrowsError(try XCTUnwrap(unknown.value).get())
        XCTAssertEqual(bridge.status().catchUpsFailed, 2)
        withExtendedLifetime(node) {}
    }

    func testPublishProducesARecordThatMapsBackToTheChannel() throws {
        let (bridge, node) = try makeBridge()
        let orders = try XCTUnwrap(bridge.route(for: "orders:order-1"))
        XCTAssertThrowsError(try bridge.publish(channel: "orders:order-1", data: bytes("{}"), route: orders) { _ in }) {
            XCTAssertEqual($0 as? ProtocolError, .notAvailable, "before the link is attached")
        }
        let link = FakeLink()
        bridge.attach(link)
        let position = Box<Result<StreamPosition, ProtocolError>>()
        XCTAssertEqual(try bridge.publish(channel: "orders:order-1", data: bytes(#"{"n":1}"#), route: orders) { position.value = $0 },
                       .pending)
        let produced = try XCTUnwrap(link.produced.first)
        XCTAssertEqual(produced.record.topic, "orders")
        XCTAssertNil(produced.record.partition, "the producer's murmur2 partitioner picks")
        XCTAssertEqual(produced.record.key, bytes("order-1"))
        XCTAssertEqual(produced.record.value, bytes(#"{"n":1}"#))
        XCTAssertTrue(produced.record.headers.isEmpty)
        XCTAssertNil(position.value, "answered after the ack")
        produced.completion(.success((partition: 2, offset: 41)))
        XCTAssertEqual(position.value, .success(StreamPosition(offset: 42, epoch: epoch("orders", 2))))

        let failed = Box<Result<StreamPosition, ProtocolError>>()
        _ = try bridge.publish(channel: "orders:order-1", data: bytes("{}"), route: orders) { failed.value = $0 }
        link.produced[1].completion(.failure(.kafka("broker down")))
        if case .failure(let error)? = failed.value {
            XCTAssertEqual(error.code, ProtocolError.internalError.code)
            XCTAssertTrue(error.message.hasPrefix("kafka: "), error.message)
        } else {
            XCTFail("no failure: \(String(describing: failed.value))")
        }
        let full = Box<Result<StreamPosition, ProtocolError>>()
        _ = try bridge.publish(channel: "orders:order-1", data: bytes("{}"), route: orders) { full.value = $0 }
        link.produced[2].completion(.failure(.busy))
        XCTAssertEqual(full.value, .failure(.tooManyRequests), "a full producer queue is error 111, like any full queue")

        let metrics = try XCTUnwrap(bridge.route(for: "metrics:p3"))
        _ = try bridge.publish(channel: "metrics:p3", data: bytes(#""cpu \"hot\"""#), route: metrics) { _ in }
        XCTAssertEqual(link.produced[3].record.partition, 3)
        XCTAssertNil(link.produced[3].record.key)
        XCTAssertEqual(link.produced[3].record.value, bytes(#"cpu "hot""#))
        XCTAssertThrowsError(try bridge.publish(channel: "metrics:p3", data: bytes(#"{"a":1}"#), route: metrics) { _ in }) {
            XCTAssertEqual($0 as? ProtocolError, .badRequest, "a string bridge carries JSON strings only")
        }
        XCTAssertNil(bridge.route(for: "news:1"))
        XCTAssertNil(bridge.route(for: "metrics:px"))
        withExtendedLifetime(node) {}
    }

    func testRecordsOfAPublishedKeyLandWhereBindExpectsThem() throws {
        // A publish into "orders:K" leaves the partition to the producer (murmur2 of K); bind must predict it.
        let (bridge, node) = try makeBridge()
        for key in ["order-1", "order-2", "order-42", "user:7", "é"] {
            var stream = ChannelStream(epoch: "random")
            bridge.bind("orders:" + key, &stream)
            let partition = Murmur2.partition(key: bytes(key), partitions: 4)
            XCTAssertEqual(stream.epoch, epoch("orders", partition), key)
        }
        withExtendedLifetime(node) {}
    }
}
