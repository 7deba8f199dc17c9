public import FastCGI
extension Router where Context == RequestContext {
    /// Every endpoint of the service.
    public static func luffyPay() -> Router {
        var router = Router()
        router.add("GET", "/healthz", HealthHandler.handle)
        router.add("GET", "/metrics", MetricsHandler.handle)
        router.add("GET", "/user/order", OrderListHandler.handle)
        router.add("GET", "/orders/list", OrderListHandler.handle)
        router.add("GET", "/orders/pay/choices", OrderChoicesHandler.handle)
        router.add("POST", "/orders", OrderCreation.handle)
        router.add("PUT", "/orders/:id", OrderClosing.handleCancel)
        router.add("GET", "/coupon/enable", CouponHandlers.enable)
        router.add("GET", "/coupon", CouponHandlers.list)
        router.add("GET", "/payments/alipay/result", PaymentHandlers.result)
        router.add("POST", "/payments/alipay/notify", PaymentHandlers.notify)
        router.add("GET", "/payments/alipay/query/:number", PaymentHandlers.query)
        router.add("GET", "/payments/alipay/:number", PaymentHandlers.payLink)
        return router
    }
}
