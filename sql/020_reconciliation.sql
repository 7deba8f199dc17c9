-- 020: the daily reconciliation against Alipay's bill (docs/RECONCILIATION.md). One run per bill date,
-- claimed through its row so that any number of instances reconcile a date once; the raw bill as
-- downloaded (the proof of what Alipay said), its parsed rows, and every difference found as an item
-- staff resolve or the service resolves by itself.

-- One row per bill date. `claim_token`/`lease_until`: the instance running it now and until when its
-- claim holds (a conditional UPDATE takes a date that is not running or whose lease ran out, so a
-- killed reconciler never blocks a date for good). `last_error`: the stable error name of the last
-- attempt (bill_not_ready, bill_corrupt, …); counts and sums of both sides once done.
CREATE TABLE IF NOT EXISTS ly_reconcile_run (
  `bill_date` date NOT NULL,
  -- running, done, not_ready, failed
  `state` varchar(16) NOT NULL,
  `claim_token` char(32) DEFAULT NULL,
  `lease_until` datetime(6) DEFAULT NULL,
  `attempts` int(11) NOT NULL DEFAULT 0,
  `last_error` varchar(64) DEFAULT NULL,
  `last_error_detail` varchar(500) DEFAULT NULL,
  `alipay_trades` int(11) NOT NULL DEFAULT 0,
  `alipay_trade_amount` decimal(14,2) NOT NULL DEFAULT 0.00,
  `alipay_refunds` int(11) NOT NULL DEFAULT 0,
  `alipay_refund_amount` decimal(14,2) NOT NULL DEFAULT 0.00,
  `local_trades` int(11) NOT NULL DEFAULT 0,
  `local_trade_amount` decimal(14,2) NOT NULL DEFAULT 0.00,
  `local_refunds` int(11) NOT NULL DEFAULT 0,
  `local_refund_amount` decimal(14,2) NOT NULL DEFAULT 0.00,
  `started_time` datetime(6) DEFAULT NULL,
  `finished_time` datetime(6) DEFAULT NULL,
  `created_time` datetime(6) NOT NULL,
  `updated_time` datetime(6) NOT NULL,
  PRIMARY KEY (`bill_date`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- The bill file exactly as downloaded, one per date (a re-run whose bill has the same rows keeps the
-- first; one with other rows replaces it together with the rows).
CREATE TABLE IF NOT EXISTS ly_reconcile_bill (
  `bill_date` date NOT NULL,
  `file_name` varchar(255) NOT NULL,
  `sha256` char(64) NOT NULL,
  `bytes` int(11) NOT NULL,
  `content` longblob NOT NULL,
  `downloaded_time` datetime(6) NOT NULL,
  PRIMARY KEY (`bill_date`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- The detail rows of a date's bill (业务明细), amounts as the bill shows them (refunds negative).
-- `line`: the row's place in the file. The key of `trade_no`/`out_request_no` lets a later date's
-- run find a payment or refund billed on another day (docs/RECONCILIATION.md, "Carry-over").
CREATE TABLE IF NOT EXISTS ly_bill_row (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `bill_date` date NOT NULL,
  `line` int(11) NOT NULL,
  -- trade or refund
  `kind` varchar(8) NOT NULL,
  `trade_no` varchar(64) NOT NULL,
  `out_trade_no` varchar(64) NOT NULL,
  `out_request_no` varchar(64) NOT NULL DEFAULT '',
  `amount` decimal(12,2) NOT NULL,
  `received` decimal(12,2) NOT NULL,
  `service_fee` decimal(12,2) NOT NULL,
  `created_time` varchar(19) NOT NULL,
  `finished_time` varchar(19) NOT NULL,
  -- every column as read, by its header: the item's evidence
  `columns_json` text NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `ly_bill_row_line` (`bill_date`, `line`),
  KEY `ly_bill_row_trade_no` (`trade_no`),
  KEY `ly_bill_row_out_request_no` (`out_request_no`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- One row per difference. UNIQUE(bill_date, kind, item_key): a re-run adds nothing twice and
-- never touches an item a person or the service resolved. `item_key`: the trade_no for payment
-- kinds, the out_request_no for refund kinds. state: open, resolved (resolved_by staff:<id> or cli,
-- note), auto_resolved (`action`: what the service did), carried (paid_here_only / refund_here_only
-- waiting for the next day's bill).
CREATE TABLE IF NOT EXISTS ly_reconcile_item (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `bill_date` date NOT NULL,
  `kind` varchar(32) NOT NULL,
  `item_key` varchar(100) NOT NULL,
  `state` varchar(16) NOT NULL,
  `order_number` varchar(64) DEFAULT NULL,
  `trade_no` varchar(64) DEFAULT NULL,
  `out_request_no` varchar(64) DEFAULT NULL,
  `alipay_amount` decimal(12,2) DEFAULT NULL,
  `local_amount` decimal(12,2) DEFAULT NULL,
  `evidence` text NOT NULL,
  `action` varchar(500) DEFAULT NULL,
  `resolved_by` varchar(32) DEFAULT NULL,
  `note` varchar(500) DEFAULT NULL,
  `created_time` datetime(6) NOT NULL,
  `resolved_time` datetime(6) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `ly_reconcile_item_key` (`bill_date`, `kind`, `item_key`),
  KEY `ly_reconcile_item_state` (`state`, `bill_date`),
  -- the day's summary counts by kind and state, and the open items by kind (the metric), from the
  -- index alone: a bad day of 20,000 items is counted without reading them
  KEY `ly_reconcile_item_day_kind` (`bill_date`, `kind`, `state`),
  KEY `ly_reconcile_item_state_kind` (`state`, `kind`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- The local books of a day: payments by `pay_time`, refunds by the time they succeeded (their
-- `succeeded` event); without these a day's run reads every order and every event.
CREATE INDEX IF NOT EXISTS ly_order_pay_time_idx ON ly_order (`pay_time`);
CREATE INDEX IF NOT EXISTS ly_refund_event_to_state_idx ON ly_refund_event (`to_state`, `created_time`);
