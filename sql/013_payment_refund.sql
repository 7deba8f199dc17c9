-- Payments that reached a closed order (paid after cancel or timeout) or paid an order twice:
-- never applied, never dropped; an operator lists and refunds them. One row per Alipay trade.
CREATE TABLE IF NOT EXISTS ly_payment_refund (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `order_id` bigint(20) NOT NULL,
  `order_number` varchar(64) NOT NULL,
  `trade_no` varchar(64) NOT NULL,
  `total_amount` decimal(10,2) NOT NULL,
  `reason` varchar(32) NOT NULL,
  `source` varchar(16) NOT NULL,
  `refund_status` smallint(6) NOT NULL,
  `created_time` datetime(6) NOT NULL,
  `updated_time` datetime(6) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `ly_payment_refund_trade_no` (`trade_no`),
  KEY `ly_payment_refund_status` (`refund_status`, `created_time`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
