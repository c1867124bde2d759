-- Grafana's health check: a comment-only query, which must answer EmptyQueryResponse.

--@ ping
--@? rows=0
-- ping
