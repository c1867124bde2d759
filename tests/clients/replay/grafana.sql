-- Grafana's PostgreSQL data source (pgx v5: binary results for known types), replayed by
-- tests/clients/python/replay_client.py in `binary` mode; the health check also in `simple`
-- mode (grafana_ping.sql). Reconstructed from Grafana's grafana-postgresql-datasource.

--@ config page: server version
--@? rows=1
--@? contains=1500
SELECT current_setting('server_version_num')::int/100 as version

--@ config page: TimescaleDB probe
--@? rows=0
SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'

--@ query builder: schemas
--@? contains=aws
SELECT quote_ident(schema_name) AS "schema" FROM information_schema.schemata
WHERE schema_name NOT IN ('information_schema', 'pg_catalog') AND schema_name NOT LIKE 'pg_%'
ORDER BY 1

--@ query builder: tables on the search path (older builder)
--@? rows=0
select quote_ident(table_name) as table from information_schema.tables
    where quote_ident(table_schema) not in ('information_schema',
                             'pg_catalog',
                             '_timescaledb_cache',
                             '_timescaledb_catalog',
                             '_timescaledb_internal',
                             '_timescaledb_config',
                             'timescaledb_information',
                             'timescaledb_experimental')
      and table_type = 'BASE TABLE' and quote_ident(table_schema) IN (
      SELECT
        CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
      FROM
        generate_series(
          array_lower(string_to_array(current_setting('search_path'),','),1),
          array_upper(string_to_array(current_setting('search_path'),','),1)
        ) as i,
        string_to_array(current_setting('search_path'),',') s
      )

--@ query builder: table dropdown, tables on the search path first (an IN subquery in the
--@ select list and in ORDER BY)
--@? rows=1
--@? contains=aws.apigatewayv2_stage
SELECT CASE WHEN quote_ident(table_schema) IN (SELECT CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END FROM generate_series(array_lower(string_to_array(current_setting('search_path'),','),1), array_upper(string_to_array(current_setting('search_path'),','),1)) as i, string_to_array(current_setting('search_path'),',') s) THEN quote_ident(table_name) ELSE quote_ident(table_schema) || '.' || quote_ident(table_name) END AS "table" FROM information_schema.tables WHERE quote_ident(table_schema) NOT IN ('information_schema', 'pg_catalog', '_timescaledb_cache', '_timescaledb_catalog', '_timescaledb_internal', '_timescaledb_config', 'timescaledb_information', 'timescaledb_experimental') ORDER BY CASE WHEN quote_ident(table_schema) IN (SELECT CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END FROM generate_series(array_lower(string_to_array(current_setting('search_path'),','),1), array_upper(string_to_array(current_setting('search_path'),','),1)) as i, string_to_array(current_setting('search_path'),',') s) THEN 0 ELSE 1 END, 1

--@ query builder: tables in schema aws
--@? rows=1
--@? contains=apigatewayv2_stage
SELECT quote_ident(table_name) AS "table" FROM information_schema.tables
WHERE quote_ident(table_schema) = 'aws' ORDER BY table_name

--@ query builder: columns
--@? rows=19
--@? contains=_key|text
--@? contains=created_date|timestamp without time zone
--@? contains=tags|USER-DEFINED
SELECT quote_ident(column_name) AS "column", data_type AS "type"
FROM information_schema.columns
WHERE quote_ident(table_schema) = 'aws' AND quote_ident(table_name) = 'apigatewayv2_stage'
ORDER BY ordinal_position

--@ panel: stages created per hour bucket
SELECT floor(extract(epoch from created_date)/3600)*3600 AS "time", count(*) AS "stages"
FROM aws.apigatewayv2_stage
WHERE created_date BETWEEN '2015-01-01T00:00:00Z' AND '2030-01-01T00:00:00Z'
GROUP BY 1 ORDER BY 1

--@ panel: stages per account and region
--@? contains=123456789012|us-east-1|8
SELECT account_id, region, count(*) AS stages
FROM aws.apigatewayv2_stage GROUP BY account_id, region ORDER BY 1, 2
