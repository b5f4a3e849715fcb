import HeraldCore
import Synchronization

/// Tells whether an answer came while `respond` was still running on the loop (then the loop takes it
/// directly) or after it returned, possibly on another thread (then it is posted to the loop).
final class AnswerHandoff: Sendable {
    private let state = Mutex<(returned: Bool, response: HTTPResponse?)>((false, nil))

    /// True when the answer must be posted: `respond` had returned.
    func takeLater(_ response: HTTPResponse) -> Bool {
        state.withLock { state in
            if state.returned { return true }
            state.response = response
            return false
        }
    }

    /// The answer given during `respond`, if any; from now on answers are posted.
    func returned() -> HTTPResponse? {
        state.withLock { state in
            state.returned = true
            return state.response
        }
    }
}
