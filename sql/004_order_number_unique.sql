-- 004: an order number names exactly one order (Alipay's out_trade_no is looked up by it).
CREATE UNIQUE INDEX IF NOT EXISTS `ly_order_order_number_uniq` ON `ly_order` (`order_number`);
