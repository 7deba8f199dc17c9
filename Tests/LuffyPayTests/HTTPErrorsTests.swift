import Testing

@testable import FastCGI
@testable import LuffyCore
@testable import LuffyPay

/// What the client is told for every domain error (HTTPErrors.swift): status, extra headers and
/// the body byte for byte. These answers are the API's contract (README, "HTTP API").
@Suite struct HTTPErrorsTests {
    /// Status, the headers after the Content-Type, and the body.
    static func wire(_ response: Response) -> String {
        "\(response.status) \(response.headers.dropFirst().map { "\($0.0): \($0.1)" }) \(String(decoding: response.body, as: UTF8.self))"
    }

    static let quote = OrderQuote(
        courses: [
            CourseOffer(id: 1, name: "c", listPrice: Fen(99800)),
            CourseOffer(id: 3, name: "d", listPrice: Fen(39900)),
        ], discount: Fen(3000))

    /// Every case of every domain error type, with the answer it gives.
    static let answers: [(any HTTPResponseError, String)] = [
        (OrderError.invalidBody, #"400 [] {"errmsg":"请求体必须是JSON对象,字段类型见接口文档","code":"invalid_body"}"#),
        (OrderError.coursesRequired, #"400 [] {"errmsg":"请选择要购买的课程","code":"courses_required"}"#),
        (OrderError.tooManyCourses, #"400 [] {"errmsg":"一个订单最多包含50门课程","code":"too_many_courses"}"#),
        (OrderError.duplicateCourses, #"400 [] {"errmsg":"课程ID不能重复","code":"duplicate_courses"}"#),
        (
            OrderError.courseNotFound(courseIDs: [7, 2]),
            #"400 [] {"errmsg":"课程不存在或已下架","code":"course_not_found","course_ids":[7,2]}"#
        ),
        (
            OrderError.courseAlreadyPurchased(courseIDs: [3]),
            #"400 [] {"errmsg":"已购买过的课程不能重复购买","code":"course_already_purchased","course_ids":[3]}"#
        ),
        (
            OrderError.courseInUnpaidOrder(orderNumbers: ["202611220000000100000017"], courseIDs: [1, 3]),
            #"400 [] {"errmsg":"所选课程已在未支付的订单中,请先支付或取消该订单","code":"course_in_unpaid_order","order_numbers":["202611220000000100000017"],"course_ids":[1,3]}"#
        ),
        (OrderError.payTypeUnsupported, #"400 [] {"errmsg":"暂不支持该支付方式,请使用支付宝","code":"pay_type_unsupported"}"#),
        (OrderError.couponAndCreditExclusive, #"400 [] {"errmsg":"优惠券和积分不能同时使用","code":"coupon_and_credit_exclusive"}"#),
        (OrderError.creditInvalid, #"400 [] {"errmsg":"积分必须是不小于0的整数","code":"credit_invalid"}"#),
        (OrderError.orderNotFound, #"404 [] {"errmsg":"订单不存在","code":"order_not_found"}"#),
        (OrderError.orderNotCancellable, #"400 [] {"errmsg":"只有未支付的订单可以取消","code":"order_not_cancellable"}"#),
        (OrderError.idempotencyKeyReused, #"422 [] {"errmsg":"该幂等键已用于另一个不同的请求","code":"idempotency_key_reused"}"#),
        (
            OrderError.idempotencyKeyInvalid,
            #"400 [] {"errmsg":"Idempotency-Key 长度须为1到255个可见字符","code":"idempotency_key_invalid"}"#
        ),
        (
            OrderError.priceChanged(quote),
            #"409 [] {"errmsg":"商品价格已变化,请确认新的价格后重新下单","code":"price_changed","total_price":1397.00,"real_price":1367.00,"discount_price":30.00}"#
        ),
        (OrderListError.invalidPage, #"400 [] {"errmsg":"页码必须是大于0的整数","code":"invalid_page"}"#),
        (OrderListError.invalidSize, #"400 [] {"errmsg":"每页数量必须是1到20之间的整数","code":"invalid_size"}"#),
        (OrderListError.invalidStatus, #"400 [] {"errmsg":"订单状态必须是-1到4之间的整数","code":"invalid_status"}"#),
        (OrderListError.pageOutOfRange, #"400 [] {"errmsg":"页码超出范围","code":"page_out_of_range"}"#),
        (PricingError.creditInsufficient, #"400 [] {"errmsg":"积分余额不足","code":"credit_insufficient"}"#),
        (PricingError.creditOverLimit, #"400 [] {"errmsg":"使用的积分超过了本单可抵扣的上限","code":"credit_over_limit"}"#),
        (CouponRefusal.notFound, #"400 [] {"errmsg":"优惠券不存在","code":"coupon_not_found"}"#),
        (CouponRefusal.used, #"400 [] {"errmsg":"优惠券已被使用","code":"coupon_used"}"#),
        (CouponRefusal.notStarted, #"400 [] {"errmsg":"优惠券尚未到使用时间","code":"coupon_not_started"}"#),
        (CouponRefusal.expired, #"400 [] {"errmsg":"优惠券已过期","code":"coupon_expired"}"#),
        (CouponRefusal.notApplicable, #"400 [] {"errmsg":"优惠券不适用于所选课程","code":"coupon_not_applicable"}"#),
        (PaymentError.gatewayUnavailable, #"502 [] {"errmsg":"暂时无法连接支付宝,请稍后重试","code":"gateway_unavailable"}"#),
        (PaymentError.gatewayBusy(retryAfter: 5), #"503 ["Retry-After: 5"] {"errmsg":"支付宝通道繁忙,请稍后重试","code":"gateway_busy"}"#),
        (PaymentError.orderPaid, #"400 [] {"errmsg":"当前订单已支付","code":"order_paid"}"#),
        (PaymentError.orderCancelled, #"400 [] {"errmsg":"当前订单已取消","code":"order_cancelled"}"#),
        (PaymentError.orderExpired, #"400 [] {"errmsg":"当前订单已超时","code":"order_expired"}"#),
        (PaymentError.orderClosed, #"400 [] {"errmsg":"订单已取消或已超时","code":"order_closed"}"#),
        (PaymentError.orderUnpaid, #"400 [] {"errmsg":"当前订单未支付","code":"order_unpaid"}"#),
        (PaymentError.paymentPending, #"409 [] {"errmsg":"支付结果确认中,请稍后刷新","code":"payment_pending"}"#),
        (PaymentError.invalidSignature, #"400 [] {"errmsg":"支付宝返回参数验证失败","code":"invalid_signature"}"#),
        (PaymentError.amountMismatch, #"400 [] {"errmsg":"支付金额与订单金额不一致","code":"amount_mismatch"}"#),
        (AuthenticationError.missingToken, #"401 [] {"errmsg":"身份认证信息未提供或已失效","code":"unauthorized"}"#),
        (AuthenticationError.invalidToken(.expired), #"401 [] {"errmsg":"身份认证信息未提供或已失效","code":"unauthorized"}"#),
        (AuthenticationError.inactiveUser(id: 9), #"401 [] {"errmsg":"身份认证信息未提供或已失效","code":"unauthorized"}"#),
        (RefundError.orderNotFound, #"404 [] {"errmsg":"订单不存在","code":"order_not_found"}"#),
        (RefundError.orderNotPaid, #"400 [] {"errmsg":"只有已支付的订单可以退款","code":"order_not_paid"}"#),
        (
            RefundError.courseNotInOrder(courseIDs: [5, 9]),
            #"400 [] {"errmsg":"所选课程不在该订单中","code":"course_not_in_order","course_ids":[5,9]}"#
        ),
        (
            RefundError.courseAlreadyRefunded(courseIDs: [3]),
            #"400 [] {"errmsg":"所选课程已退款","code":"course_already_refunded","course_ids":[3]}"#
        ),
        (
            RefundError.refundInProgress(courseIDs: [1, 3]),
            #"400 [] {"errmsg":"所选课程已有退款正在处理中","code":"refund_in_progress","course_ids":[1,3]}"#
        ),
        (RefundError.nothingToRefund, #"400 [] {"errmsg":"所选课程的可退金额为0","code":"nothing_to_refund"}"#),
        (
            RefundError.overRefund(paid: Fen(10000), held: Fen(8000), asked: Fen(5000)),
            #"400 [] {"errmsg":"退款金额超过了订单的实付金额","code":"refund_exceeds_paid","paid":100.00,"refunded_or_pending":80.00}"#
        ),
        (
            RefundError.refundNumberTooLong(orderNumber: String(repeating: "9", count: 70)),
            #"500 [] {"errmsg":"服务器内部错误,请稍后重试","code":"internal_error"}"#
        ),
        (RefundError.refundNotFound, #"404 [] {"errmsg":"退款不存在","code":"refund_not_found"}"#),
        (
            RefundError.transitionRefused(from: .denied, to: .approved),
            #"409 [] {"errmsg":"退款当前的状态不允许该操作","code":"refund_state_conflict","state":"denied"}"#
        ),
        (
            RefundError.tradeRefundInFlight(tradeNo: "2026113022001"),
            #"409 [] {"errmsg":"该交易已有一笔退款正在向支付宝提交,请稍后重试","code":"refund_in_flight"}"#
        ),
        (
            RefundRequestError.coursesRequired,
            #"400 [] {"errmsg":"请选择要退款的课程,或不传course_ids以退全部课程","code":"refund_courses_required"}"#
        ),
        (RefundRequestError.reasonInvalid, #"400 [] {"errmsg":"退款原因必须是不超过255个字符的字符串","code":"reason_invalid"}"#),
        (RefundRequestError.reasonRequired, #"400 [] {"errmsg":"请填写拒绝退款的原因","code":"reason_required"}"#),
        (
            RefundRequestError.refundWindowClosed(days: 7),
            #"400 [] {"errmsg":"已超过退款期限(支付后7天内可申请退款)","code":"refund_window_closed","refund_window_days":7}"#
        ),
        (
            RefundRequestError.stateConflict(state: .succeeded),
            #"409 [] {"errmsg":"退款当前的状态不允许该操作","code":"refund_state_conflict","state":"succeeded"}"#
        ),
        (
            RefundRequestError.invalidState,
            #"400 [] {"errmsg":"退款状态必须是以下之一: requested, approved, denied, processing, succeeded, failed, unknown, retry_later","code":"invalid_state"}"#
        ),
        (StaffError.forbidden, #"403 [] {"errmsg":"仅限工作人员访问","code":"forbidden"}"#),
    ]

    @Test func everyDomainCaseAnswersAsTheAPIDocumentsIt() {
        for (error, expected) in Self.answers {
            #expect(Self.wire(.error(error)) == expected, "\(error)")
        }
    }

    /// A broken invariant is not an answer of its own: the edge answers it 500 `internal_error` and
    /// logs it, as any error without an entry.
    @Test func anInvariantViolationHasNoAnswerOfItsOwn() {
        let error: any Error = InvariantViolation.orderVanished(orderID: 17)
        #expect(!(error is any HTTPResponseError))
        #expect(String(describing: error) == "invariant violated: order 17 vanished")
    }
}
