import FuzzSupport
import HeraldCore
import Synchronization

/// One input is a few API calls, one a line: the method, a space, the request body
/// (`publish {"channel":"a","data":1}`). They go in order to one fresh node, so a publish can be read back by
/// a later `history`. Nothing here is durable, so each call must be answered once, at once, with a status the
/// API documents and a JSON body.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzServerAPI(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let api = ServerAPI(node: makeFuzzNode())
    for line in UnsafeBufferPointer(start: data, count: size).split(separator: 0x0A) {
        let space = line.firstIndex(of: 0x20) ?? line.endIndex
        let method = String(decoding: line[..<space], as: UTF8.self)
        let answers = Mutex(0)
        api.handle(method: method, body: Array(line[space...].dropFirst())) { response in
            answers.withLock { $0 += 1 }
            precondition([200, 400, 404].contains(response.status), "\(method) answered status \(response.status)")
            requireJSON(response.body, "the answer to \(method)")
        }
        precondition(answers.withLock { $0 } == 1, "\(method) was not answered exactly once")
    }
    return 0
}
