-- 009: one Alipay trade settles at most one order (NULL, i.e. not yet paid, may repeat).
CREATE UNIQUE INDEX IF NOT EXISTS `ly_order_trade_no_uniq` ON `ly_order` (`trade_no`);
