extension Router {
    /// Every endpoint of the service.
    public static func luffyPay() -> Router {
        var router = Router()
        router.add("GET", "/healthz", HealthHandler.handle)
        router.add("GET", "/user/order", OrderListHandler.handle)
        router.add("GET", "/orders/list", OrderListHandler.handle)
        router.add("GET", "/orders/pay/choices", OrderChoicesHandler.handle)
        router.add("POST", "/orders", OrderCreation.handle)
        router.add("PUT", "/orders/:id", OrderClosing.handleCancel)
        router.add("GET", "/coupon/enable", CouponHandlers.enable)
        router.add("GET", "/coupon", CouponHandlers.list)
        return router
    }
}
