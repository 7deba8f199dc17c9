public import FastCGI
import LuffyCore

/// What the client is told for each domain error: status, `code`, `errmsg` and extra fields, one
/// table per error type (README, "HTTP API"). The codes and messages are the API's contract: the
/// shop's front end and the integration tests read them. `InvariantViolation` has no entry: it is
/// answered 500 `internal_error` like any error without one.

extension OrderError: HTTPResponseError {
    public var answer: APIError {
        switch self {
        case .invalidBody: APIError(400, "invalid_body", "请求体必须是JSON对象,字段类型见接口文档")
        case .coursesRequired: APIError(400, "courses_required", "请选择要购买的课程")
        case .tooManyCourses: APIError(400, "too_many_courses", "一个订单最多包含50门课程")
        case .duplicateCourses: APIError(400, "duplicate_courses", "课程ID不能重复")
        case let .courseNotFound(ids):
            APIError(400, "course_not_found", "课程不存在或已下架", details: [("course_ids", .array(ids.map(JSON.int)))])
        case let .periodNotFound(ids):
            APIError(400, "period_not_found", "所选课程有效期不存在", details: [("course_ids", .array(ids.map(JSON.int)))])
        case let .courseAlreadyPurchased(ids):
            APIError(400, "course_already_purchased", "已购买过的课程不能重复购买", details: [("course_ids", .array(ids.map(JSON.int)))])
        case let .courseInUnpaidOrder(orderNumbers, courseIDs):
            APIError(
                400, "course_in_unpaid_order", "所选课程已在未支付的订单中,请先支付或取消该订单",
                details: [
                    ("order_numbers", .array(orderNumbers.map(JSON.string))),
                    ("course_ids", .array(courseIDs.map(JSON.int))),
                ])
        case .payTypeUnsupported: APIError(400, "pay_type_unsupported", "暂不支持该支付方式,请使用支付宝")
        case .couponAndCreditExclusive: APIError(400, "coupon_and_credit_exclusive", "优惠券和积分不能同时使用")
        case .creditInvalid: APIError(400, "credit_invalid", "积分必须是不小于0的整数")
        case .orderNotFound: APIError(404, "order_not_found", "订单不存在")
        case .orderNotCancellable: APIError(400, "order_not_cancellable", "只有未支付的订单可以取消")
        case .idempotencyKeyReused: APIError(422, "idempotency_key_reused", "该幂等键已用于另一个不同的请求")
        case .idempotencyKeyInvalid: APIError(400, "idempotency_key_invalid", "Idempotency-Key 长度须为1到255个可见字符")
        case let .priceChanged(quote):
            APIError(
                409, "price_changed", "商品价格已变化,请确认新的价格后重新下单",
                details: [
                    ("total_price", .money(quote.totalPrice)),
                    ("real_price", .money(quote.realPrice)),
                    ("discount_price", .money(quote.discountPrice)),
                ])
        }
    }
}

extension CatalogError: HTTPResponseError {
    public var answer: APIError {
        switch self {
        case .courseNotFound: APIError(404, "course_not_found", "课程不存在或已下架")
        }
    }
}

extension OrderListError: HTTPResponseError {
    public var answer: APIError {
        switch self {
        case .invalidPage: APIError(400, "invalid_page", "页码必须是大于0的整数")
        case .invalidSize: APIError(400, "invalid_size", "每页数量必须是1到\(OrderListQuery.maxSize)之间的整数")
        case .invalidStatus: APIError(400, "invalid_status", "订单状态必须是-1到4之间的整数")
        case .pageOutOfRange: APIError(400, "page_out_of_range", "页码超出范围")
        }
    }
}

extension PricingError: HTTPResponseError {
    public var answer: APIError {
        switch self {
        case .creditInsufficient: APIError(400, "credit_insufficient", "积分余额不足")
        case .creditOverLimit: APIError(400, "credit_over_limit", "使用的积分超过了本单可抵扣的上限")
        }
    }
}

extension CouponRefusal: HTTPResponseError {
    var answer: APIError {
        switch self {
        case .notFound: APIError(400, "coupon_not_found", "优惠券不存在")
        case .used: APIError(400, "coupon_used", "优惠券已被使用")
        case .notStarted: APIError(400, "coupon_not_started", "优惠券尚未到使用时间")
        case .expired: APIError(400, "coupon_expired", "优惠券已过期")
        case .notApplicable: APIError(400, "coupon_not_applicable", "优惠券不适用于所选课程")
        }
    }
}

extension PaymentError: HTTPResponseError {
    var answer: APIError {
        switch self {
        case .gatewayUnavailable: APIError(502, "gateway_unavailable", "暂时无法连接支付宝,请稍后重试")
        case let .gatewayBusy(retryAfter):
            APIError(503, "gateway_busy", "支付宝通道繁忙,请稍后重试", headers: [("Retry-After", String(retryAfter))])
        case .orderPaid: APIError(400, "order_paid", "当前订单已支付")
        case .orderCancelled: APIError(400, "order_cancelled", "当前订单已取消")
        case .orderExpired: APIError(400, "order_expired", "当前订单已超时")
        case .orderClosed: APIError(400, "order_closed", "订单已取消或已超时")
        case .orderUnpaid: APIError(400, "order_unpaid", "当前订单未支付")
        case .paymentPending: APIError(409, "payment_pending", "支付结果确认中,请稍后刷新")
        case .invalidSignature: APIError(400, "invalid_signature", "支付宝返回参数验证失败")
        case .amountMismatch: APIError(400, "amount_mismatch", "支付金额与订单金额不一致")
        }
    }
}

extension AuthenticationError: HTTPResponseError {
    /// One answer for every reason: a client learns nothing about which part of its token failed.
    public var answer: APIError { .unauthorized }
}

extension RefundError: HTTPResponseError {
    public var answer: APIError {
        switch self {
        case .orderNotFound: APIError(404, "order_not_found", "订单不存在")
        case .orderNotPaid: APIError(400, "order_not_paid", "只有已支付的订单可以退款")
        case let .courseNotInOrder(ids):
            APIError(400, "course_not_in_order", "所选课程不在该订单中", details: [("course_ids", .array(ids.map(JSON.int)))])
        case let .courseAlreadyRefunded(ids):
            APIError(400, "course_already_refunded", "所选课程已退款", details: [("course_ids", .array(ids.map(JSON.int)))])
        case let .refundInProgress(ids):
            APIError(400, "refund_in_progress", "所选课程已有退款正在处理中", details: [("course_ids", .array(ids.map(JSON.int)))])
        case .nothingToRefund: APIError(400, "nothing_to_refund", "所选课程的可退金额为0")
        case let .overRefund(paid, held, _):
            APIError(
                400, "refund_exceeds_paid", "退款金额超过了订单的实付金额",
                details: [("paid", .money(paid)), ("refunded_or_pending", .money(held))])
        // The shop's order numbers always fit (docs/REFUNDS.md, "Numbers"): one that does not is a bug.
        case .refundNumberTooLong: .internalError
        case .refundNotFound: APIError(404, "refund_not_found", "退款不存在")
        case let .transitionRefused(from, _):
            APIError(409, "refund_state_conflict", "退款当前的状态不允许该操作", details: [("state", .string(from.rawValue))])
        case .tradeRefundInFlight: APIError(409, "refund_in_flight", "该交易已有一笔退款正在向支付宝提交,请稍后重试")
        }
    }
}

extension RefundRequestError: HTTPResponseError {
    public var answer: APIError {
        switch self {
        case .coursesRequired: APIError(400, "refund_courses_required", "请选择要退款的课程,或不传course_ids以退全部课程")
        case .reasonInvalid:
            APIError(400, "reason_invalid", "退款原因必须是不超过\(RefundRequest.maxReasonLength)个字符的字符串")
        case .reasonRequired: APIError(400, "reason_required", "请填写拒绝退款的原因")
        case let .refundWindowClosed(days):
            APIError(
                400, "refund_window_closed", "已超过退款期限(支付后\(days)天内可申请退款)", details: [("refund_window_days", .int(Int64(days)))])
        case let .stateConflict(state):
            APIError(409, "refund_state_conflict", "退款当前的状态不允许该操作", details: [("state", .string(state.rawValue))])
        case .invalidState:
            APIError(
                400, "invalid_state", "退款状态必须是以下之一: \(RefundState.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }
}

extension StaffError: HTTPResponseError {
    public var answer: APIError {
        switch self {
        case .forbidden: APIError(403, "forbidden", "仅限工作人员访问")
        }
    }
}

extension ReconcileRequestError: HTTPResponseError {
    public var answer: APIError {
        switch self {
        case .invalidDate: APIError(400, "invalid_date", "日期格式必须是yyyy-MM-dd")
        case .reconciliationNotFound: APIError(404, "reconciliation_not_found", "该日期尚未对账")
        case .invalidState:
            APIError(
                400, "invalid_state", "对账差异状态必须是以下之一: \(ReconcileItemState.allCases.map(\.rawValue).joined(separator: ", "))")
        case .invalidKind:
            APIError(400, "invalid_kind", "对账差异类型必须是以下之一: \(ReconcileKind.allCases.map(\.rawValue).joined(separator: ", "))")
        case .itemNotFound: APIError(404, "item_not_found", "对账差异不存在")
        case let .itemNotOpen(state):
            APIError(409, "item_not_open", "只有未处理的对账差异可以标记为已处理", details: [("state", .string(state.rawValue))])
        case .invalidNote: APIError(400, "invalid_note", "处理说明必须是1到\(ReconcileDesk.maxNoteLength)个字符的字符串")
        }
    }
}
