-- Apache Superset (over SQLAlchemy and psycopg2, so simple Query messages), replayed by
-- tests/clients/python/replay_client.py in `simple` mode: test connection, a SQL Lab query
-- with the LIMIT Superset adds, a time-range chart (TO_TIMESTAMP with PostgreSQL's template
-- patterns) and the cost estimate (EXPLAIN, whose first line Superset parses for cost=).
-- Table metadata goes through SQLAlchemy's reflection, which sqlalchemy_client.py covers.

--@ test connection
--@? rows=1
--@? contains=1
SELECT 1

--@ dialect initialize: version
--@? rows=1
select pg_catalog.version()

--@ SQL Lab: a query with the row limit Superset appends
--@? rows=5
SELECT stage_name, region, created_date
FROM aws.apigatewayv2_stage
ORDER BY created_date DESC
LIMIT 5

--@ chart: stages per day over a time range
--@? contains=2026-04-11 00:00:00
SELECT DATE_TRUNC('day', created_date) AS created_date, COUNT(*) AS count
FROM aws.apigatewayv2_stage
WHERE created_date >= TO_TIMESTAMP('2026-01-01 00:00:00.000000', 'YYYY-MM-DD HH24:MI:SS.US')
  AND created_date < TO_TIMESTAMP('2027-01-01 00:00:00.000000', 'YYYY-MM-DD HH24:MI:SS.US')
GROUP BY DATE_TRUNC('day', created_date)
ORDER BY count DESC, 1
LIMIT 10000

--@ chart: a time-series with a time grain and a filter
--@? contains=us-east-1
SELECT region AS region, DATE_TRUNC('month', created_date) AS __timestamp, COUNT(*) AS count
FROM aws.apigatewayv2_stage
WHERE created_date >= TO_TIMESTAMP('2025-06-01 00:00:00.000000', 'YYYY-MM-DD HH24:MI:SS.US')
  AND created_date < TO_TIMESTAMP('2026-12-31 00:00:00.000000', 'YYYY-MM-DD HH24:MI:SS.US')
  AND region IN ('us-east-1', 'eu-west-1')
GROUP BY region, DATE_TRUNC('month', created_date)
ORDER BY count DESC, 1, 2
LIMIT 10000
