DROP TABLE received_report_counts;
DROP TABLE received_reports;
DROP TABLE shared_reports;
DROP TABLE hub_sharing;
