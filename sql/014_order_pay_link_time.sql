-- When the first pay link of an order was issued: cancel and the sweeper ask the gateway (and
-- close the trade) only for orders a buyer could have paid.
ALTER TABLE ly_order ADD COLUMN IF NOT EXISTS `pay_link_time` datetime(6) DEFAULT NULL;
