-- Window functions: ranking, offsets, frames, aggregates over windows, named windows.

SELECT _key, row_number() OVER (ORDER BY _key) FROM aws.apigatewayv2_stage ORDER BY _key

SELECT _key, row_number() OVER (PARTITION BY region ORDER BY _key) FROM aws.apigatewayv2_stage ORDER BY _key

SELECT _key, rank() OVER (ORDER BY stage_name) FROM aws.apigatewayv2_stage ORDER BY _key

SELECT _key, dense_rank() OVER (ORDER BY stage_name) FROM aws.apigatewayv2_stage ORDER BY _key

SELECT _key, percent_rank() OVER (ORDER BY stage_name) FROM aws.apigatewayv2_stage ORDER BY _key

SELECT _key, cume_dist() OVER (ORDER BY stage_name) FROM aws.apigatewayv2_stage ORDER BY _key

SELECT _key, ntile(4) OVER (ORDER BY _key) FROM aws.apigatewayv2_stage ORDER BY _key

SELECT _key, lag(_key) OVER (ORDER BY _key) FROM aws.apigatewayv2_stage ORDER BY _key

SELECT _key, lead(_key, 2, 'none') OVER (ORDER BY _key) FROM aws.apigatewayv2_stage ORDER BY _key

SELECT _key, first_value(_key) OVER (PARTITION BY region ORDER BY _key) FROM aws.apigatewayv2_stage ORDER BY _key

SELECT _key, last_value(_key) OVER (PARTITION BY region ORDER BY _key) FROM aws.apigatewayv2_stage ORDER BY _key

SELECT _key, last_value(_key) OVER (PARTITION BY region ORDER BY _key ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) FROM aws.apigatewayv2_stage ORDER BY _key

SELECT _key, nth_value(_key, 2) OVER (PARTITION BY region ORDER BY _key) FROM aws.apigatewayv2_stage ORDER BY _key

SELECT _key, count(*) OVER () FROM aws.apigatewayv2_stage ORDER BY _key

SELECT _key, count(*) OVER (PARTITION BY account_id) FROM aws.apigatewayv2_stage ORDER BY _key

SELECT _key, count(*) OVER (ORDER BY created_date) FROM aws.apigatewayv2_stage ORDER BY _key

SELECT _key, sum(length(stage_name)) OVER (ORDER BY _key ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) FROM aws.apigatewayv2_stage ORDER BY _key

SELECT _key, sum(length(stage_name)) OVER (ORDER BY _key ROWS UNBOUNDED PRECEDING) FROM aws.apigatewayv2_stage ORDER BY _key

SELECT _key, avg(length(stage_name)) OVER (PARTITION BY region) FROM aws.apigatewayv2_stage ORDER BY _key

SELECT _key, max(created_date) OVER (PARTITION BY api_id) FROM aws.apigatewayv2_stage ORDER BY _key

SELECT _key, min(stage_name) OVER w, max(stage_name) OVER w FROM aws.apigatewayv2_stage WINDOW w AS (PARTITION BY api_id) ORDER BY _key

SELECT _key, count(*) OVER (ORDER BY created_date RANGE BETWEEN interval '1 day' PRECEDING AND CURRENT ROW) FROM aws.apigatewayv2_stage ORDER BY _key

SELECT _key, count(*) OVER (ORDER BY length(stage_name) RANGE BETWEEN 1 PRECEDING AND 1 FOLLOWING) FROM aws.apigatewayv2_stage ORDER BY _key

SELECT _key, count(*) OVER (ORDER BY stage_name GROUPS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM aws.apigatewayv2_stage ORDER BY _key

SELECT * FROM (SELECT _key, region, row_number() OVER (PARTITION BY region ORDER BY created_date DESC, _key) AS rn FROM aws.apigatewayv2_stage) t WHERE rn = 1

SELECT region, count(*), sum(count(*)) OVER () FROM aws.apigatewayv2_stage GROUP BY region

SELECT region, count(*), rank() OVER (ORDER BY count(*) DESC) FROM aws.apigatewayv2_stage GROUP BY region

SELECT _key, string_agg(stage_name, ',') OVER (PARTITION BY api_id ORDER BY _key) FROM aws.apigatewayv2_stage ORDER BY _key

SELECT _key, created_date - lag(created_date) OVER (ORDER BY created_date, _key) FROM aws.apigatewayv2_stage ORDER BY _key

SELECT _key, bool_or(auto_deploy) OVER (PARTITION BY api_id) FROM aws.apigatewayv2_stage ORDER BY _key

SELECT _key, count(*) FILTER (WHERE auto_deploy) OVER (PARTITION BY region) FROM aws.apigatewayv2_stage ORDER BY _key

SELECT _key, row_number() OVER (ORDER BY _key DESC) FROM aws.apigatewayv2_stage ORDER BY 2 LIMIT 3

SELECT _key, lag(_key, -2, 'none') OVER (ORDER BY _key DESC) FROM aws.apigatewayv2_stage ORDER BY _key DESC LIMIT 4

SELECT _key, avg(length(stage_name)) OVER (ORDER BY _key ROWS BETWEEN 2 PRECEDING AND CURRENT ROW), sum(length(stage_name)::bigint) OVER (ORDER BY _key ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) FROM aws.apigatewayv2_stage ORDER BY _key
