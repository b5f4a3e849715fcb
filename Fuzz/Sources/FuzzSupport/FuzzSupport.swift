import HeraldCore

/// Development mode's rules (anyone may publish and ask for presence, the API needs no key on loopback), with
/// history on channels without a namespace and a namespace `plain` without history or presence, so inputs
/// reach the history paths and their refusals.
let fuzzConfig: HeraldConfig = {
    var config = HeraldConfig.development
    config.channel.withoutNamespace.historySize = 4
    config.channel.withoutNamespace.historyTTL = .seconds(60)
    config.channel.namespaces = [Namespace(name: "plain")]
    return config
}()

/// A fresh node for each input, so an input's outcome never depends on the inputs run before it and a crash
/// replays from its one input. Its one loop never runs: nothing here subscribes.
public func makeFuzzNode() -> Node {
    Node(config: fuzzConfig, version: "fuzz", name: "fuzz", wakers: [{}])
}

/// Traps unless `bytes` is one JSON value: every body Herald answers with must be.
public func requireJSON(_ bytes: [UInt8], _ what: @autoclosure () -> String) {
    do {
        _ = try JSONParser.parse(bytes)
    } catch {
        fatalError("\(what()) is not JSON (\(error)): \(String(decoding: bytes, as: UTF8.self))")
    }
}
