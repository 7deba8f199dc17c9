-- Every Alipay notification whose signature verified, as received, with what was done with it:
-- the audit trail of the payment channel (SPEC 4, 6.5).
CREATE TABLE IF NOT EXISTS ly_alipay_notification (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `notify_id` varchar(128) NOT NULL,
  `out_trade_no` varchar(64) NOT NULL,
  `trade_no` varchar(64) NOT NULL,
  `trade_status` varchar(32) NOT NULL,
  `total_amount` decimal(10,2) NOT NULL,
  `params` longtext NOT NULL,
  `outcome` varchar(32) NOT NULL,
  `order_id` bigint(20) DEFAULT NULL,
  `created_time` datetime(6) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `ly_alipay_notification_out_trade_no` (`out_trade_no`),
  KEY `ly_alipay_notification_trade_no` (`trade_no`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
