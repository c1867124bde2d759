-- Aggregates: counts, sums, averages (numeric scale), statistics, string and array aggregates,
-- FILTER, DISTINCT, ordered-set aggregates.

SELECT count(*) FROM aws.apigatewayv2_stage

SELECT count(description), count(client_certificate_id), count(tags) FROM aws.apigatewayv2_stage

SELECT count(DISTINCT account_id), count(DISTINCT region), count(DISTINCT stage_name) FROM aws.apigatewayv2_stage

SELECT account_id, count(*) FROM aws.apigatewayv2_stage GROUP BY account_id

SELECT region, count(*) AS n FROM aws.apigatewayv2_stage GROUP BY region ORDER BY n DESC, region

SELECT account_id, region, count(*) FROM aws.apigatewayv2_stage GROUP BY account_id, region

SELECT stage_name, count(*) FROM aws.apigatewayv2_stage GROUP BY stage_name HAVING count(*) > 3

SELECT stage_name, count(*) FROM aws.apigatewayv2_stage GROUP BY 1 HAVING count(*) = 1

SELECT min(created_date), max(created_date) FROM aws.apigatewayv2_stage

SELECT min(stage_name), max(stage_name) FROM aws.apigatewayv2_stage

SELECT min(last_updated_date - created_date), max(last_updated_date - created_date) FROM aws.apigatewayv2_stage

SELECT sum(length(stage_name)) FROM aws.apigatewayv2_stage

SELECT avg(length(stage_name)) FROM aws.apigatewayv2_stage

SELECT avg(length(stage_name))::numeric(10,2) FROM aws.apigatewayv2_stage

SELECT round(avg(length(stage_name)), 3) FROM aws.apigatewayv2_stage

SELECT sum(length(stage_name)::bigint), sum(length(stage_name)::numeric) FROM aws.apigatewayv2_stage

SELECT avg(length(stage_name)::float8) FROM aws.apigatewayv2_stage

SELECT sum(extract(epoch FROM created_date)) FROM aws.apigatewayv2_stage

SELECT bool_and(auto_deploy), bool_or(auto_deploy) FROM aws.apigatewayv2_stage

SELECT every(auto_deploy) FROM aws.apigatewayv2_stage

SELECT account_id, bool_and(auto_deploy) FROM aws.apigatewayv2_stage GROUP BY account_id

SELECT count(*) FILTER (WHERE auto_deploy) AS deployed, count(*) FILTER (WHERE NOT auto_deploy) AS manual FROM aws.apigatewayv2_stage

SELECT region, count(*) FILTER (WHERE stage_name = 'prod') FROM aws.apigatewayv2_stage GROUP BY region

SELECT string_agg(stage_name, ',' ORDER BY _key) FROM aws.apigatewayv2_stage

SELECT account_id, string_agg(DISTINCT region, ', ' ORDER BY region) FROM aws.apigatewayv2_stage GROUP BY account_id

SELECT array_agg(stage_name ORDER BY _key) FROM aws.apigatewayv2_stage WHERE region = 'us-east-1'

SELECT array_agg(DISTINCT region ORDER BY region) FROM aws.apigatewayv2_stage

SELECT array_length(array_agg(_key), 1) FROM aws.apigatewayv2_stage

SELECT stddev(length(stage_name)), variance(length(stage_name)) FROM aws.apigatewayv2_stage

SELECT stddev_pop(length(stage_name)::float8), var_pop(length(stage_name)::float8) FROM aws.apigatewayv2_stage

SELECT stddev_samp(length(_key)::float8), var_samp(length(_key)::float8) FROM aws.apigatewayv2_stage

SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY length(stage_name)) FROM aws.apigatewayv2_stage

SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY stage_name) FROM aws.apigatewayv2_stage

SELECT mode() WITHIN GROUP (ORDER BY stage_name) FROM aws.apigatewayv2_stage

SELECT count(*) FROM aws.apigatewayv2_stage WHERE false

SELECT sum(length(stage_name)), avg(length(stage_name)), max(stage_name) FROM aws.apigatewayv2_stage WHERE false

SELECT account_id, count(*) FROM aws.apigatewayv2_stage WHERE false GROUP BY account_id

SELECT count(*) > 0 FROM aws.apigatewayv2_stage

SELECT count(*)::text || ' stages' FROM aws.apigatewayv2_stage

SELECT count(1), count(NULL) FROM aws.apigatewayv2_stage

SELECT max(length(description)) FROM aws.apigatewayv2_stage

SELECT api_id, count(*), min(stage_name) FROM aws.apigatewayv2_stage GROUP BY api_id HAVING min(stage_name) <> 'dev'

SELECT count(*) AS n, region FROM aws.apigatewayv2_stage GROUP BY region HAVING count(*) BETWEEN 1 AND 100

SELECT date_trunc('month', created_date) AS m, count(*) FROM aws.apigatewayv2_stage GROUP BY 1 ORDER BY 1

SELECT date_trunc('day', created_date) AS d, count(*) FROM aws.apigatewayv2_stage GROUP BY d ORDER BY d

SELECT _key, stage_name, count(*) FROM aws.apigatewayv2_stage GROUP BY _key

SELECT sum(CASE WHEN auto_deploy THEN 1 ELSE 0 END) FROM aws.apigatewayv2_stage

SELECT bit_and(length(stage_name)), bit_or(length(stage_name)) FROM aws.apigatewayv2_stage

SELECT corr(length(stage_name)::float8, length(_key)::float8) FROM aws.apigatewayv2_stage

SELECT count(*) FROM (SELECT DISTINCT account_id, region FROM aws.apigatewayv2_stage) d

SELECT region, mode() WITHIN GROUP (ORDER BY stage_name DESC), percentile_disc(0.5) WITHIN GROUP (ORDER BY created_date) FROM aws.apigatewayv2_stage GROUP BY region ORDER BY 1

SELECT percentile_disc(0.25) WITHIN GROUP (ORDER BY length(_key)) FILTER (WHERE auto_deploy), mode() WITHIN GROUP (ORDER BY description) FROM aws.apigatewayv2_stage

SELECT percentile_disc(1.5) WITHIN GROUP (ORDER BY stage_name) FROM aws.apigatewayv2_stage

SELECT mode() WITHIN GROUP (ORDER BY x) FROM (VALUES (NULL::int)) t(x)

SELECT sum(x) + 1, sum(x) * 2, sum(x) > 1, sum(x) - 10, 1 - sum(x) FROM (VALUES (1::bigint), (4::bigint)) t(x)

SELECT sum(x), sum(x) + 1 FROM (VALUES (1::int), (4::int)) t(x)

SELECT sum(x::smallint) FROM (VALUES (1), (4)) t(x)

SELECT sum(length(stage_name)) + 1, sum(length(stage_name)) >= 0, count(*) FILTER (WHERE length(stage_name) > 3) FROM aws.apigatewayv2_stage

SELECT region, count(*) * 2 FROM aws.apigatewayv2_stage GROUP BY region ORDER BY 2 DESC, 1

SELECT upper(max(stage_name)), count(*) + 1 FROM aws.apigatewayv2_stage GROUP BY region ORDER BY 2, 1

SELECT sum(length(stage_name)::bigint) / 2, sum(length(stage_name)::bigint) % 7, sum(length(stage_name)::bigint) / count(*) FROM aws.apigatewayv2_stage

SELECT region, round(count(*) * 100.0 / (SELECT count(*) FROM aws.apigatewayv2_stage), 2) AS pct FROM aws.apigatewayv2_stage GROUP BY region ORDER BY 2 DESC, 1

SELECT sum(x) / 2, sum(x) IN (3, 5), sum(x) BETWEEN 1 AND 5, greatest(sum(x), 1), nullif(sum(x), 5) FROM (VALUES (1::bigint), (4::bigint)) t(x)

SELECT region, avg(length(stage_name)) FILTER (WHERE auto_deploy), avg(length(_key)::bigint), avg(length(stage_name) * 1.5) FROM aws.apigatewayv2_stage GROUP BY region ORDER BY 1

SELECT avg(DISTINCT length(stage_name)) FROM aws.apigatewayv2_stage

SELECT sum(length(stage_name)::bigint), sum(length(stage_name)::float8), min(created_date::date), min(created_date), count(stage_name::text), count(stage_name) FROM aws.apigatewayv2_stage

SELECT region, max(length(_key)::int8), max(length(_key)) FROM aws.apigatewayv2_stage GROUP BY region ORDER BY region
