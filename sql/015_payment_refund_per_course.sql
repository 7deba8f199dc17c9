-- 015: a trade that settled its order can still owe a refund for single courses the buyer owned
-- already (another order of them settled first): one row per trade and course, saying which
-- course. course_id 0 is the whole trade (closed order, second payment, wrong amount): still one
-- row per trade, as before.
ALTER TABLE ly_payment_refund
  ADD COLUMN IF NOT EXISTS `course_id` bigint(20) NOT NULL DEFAULT 0 AFTER `trade_no`,
  DROP INDEX IF EXISTS `ly_payment_refund_trade_no`,
  ADD UNIQUE KEY IF NOT EXISTS `ly_payment_refund_trade_course` (`trade_no`, `course_id`);
