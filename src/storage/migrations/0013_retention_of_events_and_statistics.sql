-- Retention of events and statistics (pipeline.retention_days,
-- pipeline.statistics_retention_days): the purge deletes the oldest rows in
-- chunks, each chunk found through an index on the time rather than a scan.
CREATE INDEX events_time ON events (time);
CREATE INDEX event_emails_creation ON event_emails (creation_time);
-- An event is purged only once none of its emails is left.
CREATE INDEX event_emails_event ON event_emails (event_id);
CREATE INDEX hourly_stats_hour ON hourly_stats (hour);
CREATE INDEX hourly_frequencies_hour ON hourly_frequencies (hour);
CREATE INDEX service_reports_time ON service_reports (time);
