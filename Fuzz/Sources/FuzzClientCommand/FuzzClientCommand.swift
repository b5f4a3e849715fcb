import HeraldCore

/// One input is one line of a client's WebSocket message. Decoding must succeed or throw, never trap, and a
/// decoded publish's data must be exactly one JSON value (it is passed on to subscribers verbatim).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzClientCommand(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let line = ArraySlice(UnsafeBufferPointer(start: data, count: size))
    guard let command = try? ClientCommand.decode(line) else { return 0 }
    if case .publish(_, let payload) = command.method {
        precondition((try? JSONParser.parse(payload)) != nil, "publish data is not one JSON value")
    }
    return 0
}
