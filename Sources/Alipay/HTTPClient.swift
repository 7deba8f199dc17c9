import Foundation
import LuffyCore
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A blocking HTTP(S) client for worker threads: the Alipay gateway calls and the sandbox's
/// notifications. FoundationNetworking (libcurl underneath, with the system's CA store) is used
/// rather than a libcurl module of our own: it is already part of the Swift toolchain, it does TLS
/// and redirects correctly, and its time-outs are per request.
public final class HTTPClient: Sendable {
    public struct Reply: Sendable {
        public let status: Int
        public let body: [UInt8]
        public let headers: [String: String]
    }

    public enum Failure: Error, CustomStringConvertible {
        /// Could not connect, or no complete answer within the time-out.
        case unreachable(String)

        public var description: String {
            switch self {
            case let .unreachable(detail): return "gateway unreachable: \(detail)"
            }
        }
    }

    private let session: URLSession

    /// `timeout`: for the whole exchange (connect, send, answer).
    public init(timeout: Duration) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout.seconds
        configuration.timeoutIntervalForResource = timeout.seconds
        configuration.httpMaximumConnectionsPerHost = 16
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        session = URLSession(configuration: configuration)
    }

    /// POSTs `application/x-www-form-urlencoded` (UTF-8) and waits for the answer.
    public func postForm(_ url: String, _ form: [(String, String)]) throws -> Reply {
        guard let target = URL(string: url) else { throw Failure.unreachable("bad URL \(url)") }
        var request = URLRequest(url: target)
        request.httpMethod = "POST"
        request.setValue("application/x-www-form-urlencoded;charset=utf-8", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(URLCoding.encodeForm(form).utf8)
        return try send(request)
    }

    /// GETs `url` and waits for the whole answer (a bill file: read in memory, as libzip reads it).
    public func get(_ url: String) throws -> Reply {
        guard let target = URL(string: url) else { throw Failure.unreachable("bad URL \(url)") }
        var request = URLRequest(url: target)
        request.httpMethod = "GET"
        return try send(request)
    }

    private func send(_ request: URLRequest) throws -> Reply {
        let done = DispatchSemaphore(value: 0)
        let box = ReplyBox()
        let task = session.dataTask(with: request) { data, response, error in
            if let error {
                box.set(.failure(Failure.unreachable(error.localizedDescription)))
            } else if let http = response as? HTTPURLResponse {
                var headers: [String: String] = [:]
                for (key, value) in http.allHeaderFields {
                    if let key = key as? String, let value = value as? String { headers[key.lowercased()] = value }
                }
                box.set(.success(Reply(status: http.statusCode, body: Array(data ?? Data()), headers: headers)))
            } else {
                box.set(.failure(Failure.unreachable("no HTTP response")))
            }
            done.signal()
        }
        task.resume()
        done.wait()
        return try box.take().get()
    }
}

/// Carries the completion handler's result back to the waiting thread, which takes it after the
/// semaphore says it is there.
private final class ReplyBox: Sendable {
    private let result = Mutex<Result<HTTPClient.Reply, any Error>?>(nil)

    func set(_ value: Result<HTTPClient.Reply, any Error>) { result.withLock { $0 = value } }

    func take() -> Result<HTTPClient.Reply, any Error> { result.withLock { $0! } }
}
