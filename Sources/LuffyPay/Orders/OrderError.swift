import LuffyCore
public import FastCGI
/// The 400/404/409 answers of the order endpoints, each with its own code and message (README,
/// "POST /orders").
public enum OrderError {
    public static let invalidBody = APIError(400, "invalid_body", "请求体必须是JSON对象,字段类型见接口文档")
    public static let coursesRequired = APIError(400, "courses_required", "请选择要购买的课程")
    public static let tooManyCourses = APIError(400, "too_many_courses", "一个订单最多包含50门课程")
    public static let duplicateCourses = APIError(400, "duplicate_courses", "课程ID不能重复")
    public static func courseNotFound(_ ids: [Int64]) -> APIError {
        APIError(400, "course_not_found", "课程不存在或已下架", details: [("course_ids", .array(ids.map(JSON.int)))])
    }
    public static func courseAlreadyPurchased(_ ids: [Int64]) -> APIError {
        APIError(400, "course_already_purchased", "已购买过的课程不能重复购买", details: [("course_ids", .array(ids.map(JSON.int)))])
    }
    public static func courseInUnpaidOrder(orderNumbers: [String], courseIDs: [Int64]) -> APIError {
        APIError(400, "course_in_unpaid_order", "所选课程已在未支付的订单中,请先支付或取消该订单", details: [
            ("order_numbers", .array(orderNumbers.map(JSON.string))),
            ("course_ids", .array(courseIDs.map(JSON.int))),
        ])
    }
    public static let payTypeUnsupported = APIError(400, "pay_type_unsupported", "暂不支持该支付方式,请使用支付宝")
    public static let couponAndCreditExclusive = APIError(400, "coupon_and_credit_exclusive", "优惠券和积分不能同时使用")
    public static let couponNotFound = APIError(400, "coupon_not_found", "优惠券不存在")
    public static let couponUsed = APIError(400, "coupon_used", "优惠券已被使用")
    public static let couponNotStarted = APIError(400, "coupon_not_started", "优惠券尚未到使用时间")
    public static let couponExpired = APIError(400, "coupon_expired", "优惠券已过期")
    public static let couponNotApplicable = APIError(400, "coupon_not_applicable", "优惠券不适用于所选课程")
    public static let creditInvalid = APIError(400, "credit_invalid", "积分必须是不小于0的整数")
    public static let creditInsufficient = APIError(400, "credit_insufficient", "积分余额不足")
    public static let creditOverLimit = APIError(400, "credit_over_limit", "使用的积分超过了本单可抵扣的上限")
    public static let orderNotFound = APIError(404, "order_not_found", "订单不存在")
    public static let orderNotCancellable = APIError(400, "order_not_cancellable", "只有未支付的订单可以取消")
    public static let idempotencyKeyReused = APIError(422, "idempotency_key_reused", "该幂等键已用于另一个不同的请求")
    public static let idempotencyKeyInvalid = APIError(400, "idempotency_key_invalid", "Idempotency-Key 长度须为1到255个可见字符")
    public static func priceChanged(_ quote: OrderQuote) -> APIError {
        APIError(409, "price_changed", "商品价格已变化,请确认新的价格后重新下单", details: [
            ("total_price", .money(quote.totalPrice)),
            ("real_price", .money(quote.realPrice)),
            ("discount_price", .money(quote.discountPrice)),
        ])
    }
}
