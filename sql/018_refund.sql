-- 018: refunds (docs/REFUNDS.md). One row per refund we send, or will send, to Alipay, under our own
-- number `out_request_no` (reused on every retry: Alipay refunds once per number); the order courses
-- it covers; and every change of its state, append-only, with the raw signed gateway answer.
-- `ly_order.refunded_amount`: what Alipay has returned of the order's own trade (succeeded refunds),
-- kept on the order so the order list shows it without summing refunds per page, and decided under
-- the order row lock like `order_status` 4; `luffy-pay audit` checks it against ly_refund.
CREATE TABLE IF NOT EXISTS ly_refund (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `out_request_no` varchar(64) NOT NULL,
  `order_id` bigint(20) NOT NULL,
  `order_number` varchar(64) NOT NULL,
  -- the refund's place among its order's refunds (1, 2, …): out_request_no = R<order_number>-<order_seq>
  `order_seq` int(11) NOT NULL,
  `trade_no` varchar(64) NOT NULL,
  `amount` decimal(10,2) NOT NULL,
  `reason` varchar(255) NOT NULL,
  -- buyer, staff, late_payment, duplicate_payment, amount_mismatch, course_owned
  `source` varchar(20) NOT NULL,
  -- requested, approved, denied, processing, succeeded, failed, unknown, retry_later
  `state` varchar(16) NOT NULL,
  `requested_by` bigint(20) DEFAULT NULL,
  `approved_by` bigint(20) DEFAULT NULL,
  -- refunds the service owes by itself: where it learned of the payment (notify, return, query,
  -- cancel, sweeper); NULL for a buyer's or staff's refund
  `payment_source` varchar(16) DEFAULT NULL,
  -- the ly_payment_refund row it was migrated from (sql/019)
  `payment_refund_id` bigint(20) DEFAULT NULL,
  -- = trade_no while the refund is at the gateway (processing, unknown): one per trade
  `in_flight_trade_no` varchar(64) DEFAULT NULL,
  `sub_code` varchar(64) DEFAULT NULL,
  `sub_msg` varchar(255) DEFAULT NULL,
  `fund_change` char(1) DEFAULT NULL,
  `attempts` int(11) NOT NULL DEFAULT 0,
  `next_attempt_time` datetime(6) DEFAULT NULL,
  `created_time` datetime(6) NOT NULL,
  `updated_time` datetime(6) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `ly_refund_out_request_no` (`out_request_no`),
  UNIQUE KEY `ly_refund_order_seq` (`order_id`, `order_seq`),
  UNIQUE KEY `ly_refund_payment_refund` (`payment_refund_id`),
  UNIQUE KEY `ly_refund_in_flight` (`in_flight_trade_no`),
  KEY `ly_refund_trade_no` (`trade_no`),
  KEY `ly_refund_state` (`state`, `id`),
  KEY `ly_refund_due` (`state`, `next_attempt_time`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- The order courses a refund covers, each with its refundable share. `live_key` is the order
-- course's id while the refund holds it (every state but denied and failed) and NULL otherwise:
-- its unique key makes a second refund of one order course impossible while one is live or has
-- succeeded, and a denied or failed refund releases the course.
CREATE TABLE IF NOT EXISTS ly_refund_course (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `refund_id` bigint(20) NOT NULL,
  `order_course_id` bigint(20) NOT NULL,
  `course_id` bigint(20) NOT NULL,
  `amount` decimal(10,2) NOT NULL,
  `live_key` bigint(20) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `ly_refund_course_refund` (`refund_id`, `order_course_id`),
  UNIQUE KEY `ly_refund_course_live` (`live_key`),
  KEY `ly_refund_course_order_course` (`order_course_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Every state change of a refund, append-only (never updated or deleted by the service): from_state
-- NULL is its creation. actor: user:<id>, staff:<id>, worker, notify, migration, or where the
-- payment was learned (return, query, cancel, sweeper) for a refund the service owes by itself.
CREATE TABLE IF NOT EXISTS ly_refund_event (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `refund_id` bigint(20) NOT NULL,
  `from_state` varchar(16) DEFAULT NULL,
  `to_state` varchar(16) NOT NULL,
  `actor` varchar(32) NOT NULL,
  `created_time` datetime(6) NOT NULL,
  `note` varchar(500) DEFAULT NULL,
  `gateway_answer` text DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `ly_refund_event_refund` (`refund_id`, `id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

ALTER TABLE ly_order ADD COLUMN IF NOT EXISTS `refunded_amount` decimal(10,2) NOT NULL DEFAULT 0.00;
