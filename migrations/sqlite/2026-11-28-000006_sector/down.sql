DROP TABLE alert_acks;
DROP TABLE hub_settings;
