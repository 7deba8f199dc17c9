import Alipay
import FastCGI
public import LuffyCore

/// The body of `POST /orders`, validated before anything touches the database.
public struct OrderRequest: Sendable, Equatable {
    public var courseIDs: [Int64]
    public var payType: Int64
    /// `ly_coupon_log.id`, nil for none (`-1` or absent).
    public var userCouponID: Int64?
    public var credit: Int64
    public var expectedRealPrice: Fen?
    /// The period chosen per course: `ly_course_expire.id` by course id (README, "Validity
    /// periods"); a course not in it (or with 0) is bought permanently.
    public var periods: [Int64: Int64] = [:]
    /// The body had `periods`: its answer names each line's period. Without, a client from before
    /// periods gets the answer it always got.
    public var namesPeriods = false

    public static func parse(_ body: [UInt8]) throws -> OrderRequest {
        let json = try JSON.requestObject(body)

        var ids: [Int64] = []
        switch json["course_ids"] {
        case nil, .null?: throw OrderError.coursesRequired
        case let .array(items)?:
            for item in items {
                guard let id = item.intValue, id > 0 else { throw OrderError.invalidBody }
                ids.append(id)
            }
        default: throw OrderError.invalidBody
        }
        ids = try CourseCatalog.validateIDs(ids)

        var payType: Int64 = PayType.alipay.rawValue
        if let value = json["pay_type"], value != .null {
            guard let number = value.intValue else { throw OrderError.invalidBody }
            payType = number
        }
        guard payType == PayType.alipay.rawValue else { throw OrderError.payTypeUnsupported }

        var couponID: Int64?
        if let value = json["user_coupon_id"], value != .null {
            guard let number = value.intValue else { throw OrderError.invalidBody }
            if number != -1 {
                guard number > 0 else { throw CouponRefusal.notFound }
                couponID = number
            }
        }

        var credit: Int64 = 0
        if let value = json["credit"], value != .null {
            guard let number = value.intValue, number >= 0 else { throw OrderError.creditInvalid }
            credit = number
        }
        if couponID != nil && credit > 0 { throw OrderError.couponAndCreditExclusive }

        var expected: Fen?
        if let value = json["expected_real_price"], value != .null {
            guard let amount = value.fenValue, amount.value >= 0 else { throw OrderError.invalidBody }
            expected = amount
        }
        var periods: [Int64: Int64] = [:]
        var namesPeriods = false
        switch json["periods"] {
        case nil, .null?: break
        case let .object(members)?:
            namesPeriods = true
            var pairs: [(courseID: Int64, periodID: Int64)] = []
            for (key, value) in members {
                guard let courseID = CourseCatalog.positiveID(key), let periodID = value.intValue else {
                    throw OrderError.invalidBody
                }
                pairs.append((courseID, periodID))
            }
            periods = try CourseCatalog.validatePeriods(pairs, courseIDs: ids)
        default: throw OrderError.invalidBody
        }
        return OrderRequest(
            courseIDs: ids, payType: payType, userCouponID: couponID, credit: credit, expectedRealPrice: expected,
            periods: periods, namesPeriods: namesPeriods)
    }

    /// What an Idempotency-Key is bound to: the meaning of the request, not its whitespace.
    public var fingerprint: String {
        let text =
            "course_ids=\(courseIDs.map(String.init).joined(separator: ","));pay_type=\(payType);"
            + "user_coupon_id=\(userCouponID ?? -1);credit=\(credit);expected_real_price=\(expectedRealPrice?.description ?? "")"
            // Only when a period is chosen: a key stored before periods existed still matches.
            + (periods.isEmpty
                ? "" : ";periods=" + periods.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ","))
        return Hex.encode(Digest.sha256(Array(text.utf8)))
    }
}

extension OrderRequest {
    /// An order as `luffy-pay-ceiling` makes it, parsed already.
    package init(courseIDs: [Int64], payType: Int64, userCouponID: Int64?, credit: Int64, expectedRealPrice: Fen?) {
        self.init(
            courseIDs: courseIDs, payType: payType, userCouponID: userCouponID, credit: credit,
            expectedRealPrice: expectedRealPrice, periods: [:], namesPeriods: false)
    }
}

extension JSON {
    /// A request's JSON body, which must be an object: 400 `too_many_members` past the parser's
    /// caps, 400 `invalid_body` for anything else that is not a JSON object.
    static func requestObject(_ body: [UInt8]) throws -> JSON {
        let json: JSON
        do {
            json = try JSON.parse(body)
        } catch let error as JSONParseError where error.reason == .tooManyMembers {
            throw APIError.tooManyMembers
        } catch {
            throw OrderError.invalidBody
        }
        guard case .object = json else { throw OrderError.invalidBody }
        return json
    }
}
