-- 002: ly_user_course also carries the 1.x purchase record (Alipay trade number, how it was
-- bought, when, until when); buy_type needs a DEFAULT so that existing rows get 1 (用户购买).
ALTER TABLE `ly_user_course`
  ADD COLUMN IF NOT EXISTS `trade_no` varchar(128) NULL,
  ADD COLUMN IF NOT EXISTS `buy_type` smallint(6) NOT NULL DEFAULT 1,
  ADD COLUMN IF NOT EXISTS `pay_time` datetime(6) NULL,
  ADD COLUMN IF NOT EXISTS `out_time` datetime(6) NULL;
