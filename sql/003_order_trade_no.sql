-- 003: keep Alipay's trade_no on the order it paid (the 2.0 schema stored it nowhere).
ALTER TABLE `ly_order` ADD COLUMN IF NOT EXISTS `trade_no` varchar(64) NULL;
