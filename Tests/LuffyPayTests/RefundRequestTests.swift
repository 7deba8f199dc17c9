import Testing

@testable import FastCGI
@testable import LuffyCore
@testable import LuffyPay

/// The body of the refund endpoints (README, "Refunds"), validated before the database.
@Suite struct RefundRequestTests {
    static func parse(_ text: String, reasonRequired: Bool = false) throws -> RefundRequest {
        try RefundRequest.parse(Array(text.utf8), reasonRequired: reasonRequired)
    }

    @Test func withoutCoursesItMeansEveryCourseLeft() throws {
        #expect(try Self.parse("{}") == RefundRequest(courseIDs: nil, reason: ""))
        #expect(try Self.parse(#"{"course_ids": null, "reason": " 不想学了 "}"#) == RefundRequest(courseIDs: nil, reason: "不想学了"))
        #expect(try Self.parse(#"{"course_ids": [3, 1]}"#) == RefundRequest(courseIDs: [3, 1], reason: ""))
    }

    @Test func malformedBodiesAreRefusedWithTheirCode() {
        let cases: [(String, any Error)] = [
            ("", OrderError.invalidBody),
            ("[]", OrderError.invalidBody),
            (#"{"course_ids": "1"}"#, OrderError.invalidBody),
            (#"{"course_ids": [0]}"#, OrderError.invalidBody),
            (#"{"course_ids": [1.5]}"#, OrderError.invalidBody),
            (#"{"course_ids": []}"#, RefundRequestError.coursesRequired),
            (#"{"course_ids": [2, 2]}"#, OrderError.duplicateCourses),
            (#"{"course_ids": [\#((1...51).map(String.init).joined(separator: ","))]}"#, OrderError.tooManyCourses),
            (#"{"reason": 5}"#, RefundRequestError.reasonInvalid),
            (#"{"reason": "\#(String(repeating: "退", count: 256))"}"#, RefundRequestError.reasonInvalid),
        ]
        for (body, expected) in cases {
            do {
                let parsed = try Self.parse(body)
                Issue.record("\(body) parsed as \(parsed)")
            } catch {
                #expect(String(describing: error) == String(describing: expected), "\(body)")
            }
        }
        #expect(throws: RefundRequestError.reasonRequired) { try Self.parse(#"{"reason": "  "}"#, reasonRequired: true) }
        #expect(throws: Never.self) { try Self.parse(#"{"reason": "重复购买"}"#, reasonRequired: true) }
    }

    /// An Idempotency-Key binds the order and the request's meaning, never an order's creation.
    @Test func theFingerprintNamesTheOrderAndTheMeaning() throws {
        let all = try Self.parse("{}")
        let some = try Self.parse(#"{"course_ids": [1]}"#)
        #expect(all.fingerprint(orderID: 7) == (try Self.parse(#"{"reason": null}"#)).fingerprint(orderID: 7))
        #expect(all.fingerprint(orderID: 7) != all.fingerprint(orderID: 8))
        #expect(all.fingerprint(orderID: 7) != some.fingerprint(orderID: 7))
        #expect(some.fingerprint(orderID: 7).count == 64)
    }
}
