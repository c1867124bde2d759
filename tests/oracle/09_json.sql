-- json: field access, paths, text extraction, casts to jsonb, builders, set-returning
-- functions, aggregates, comparison errors.

SELECT _key, default_route_settings FROM aws.apigatewayv2_stage

SELECT _key, default_route_settings -> 'throttlingBurstLimit' FROM aws.apigatewayv2_stage

SELECT _key, default_route_settings ->> 'throttlingRateLimit' FROM aws.apigatewayv2_stage

SELECT _key FROM aws.apigatewayv2_stage WHERE (default_route_settings ->> 'detailedMetricsEnabled')::boolean

SELECT _key FROM aws.apigatewayv2_stage WHERE (default_route_settings ->> 'throttlingBurstLimit')::int > 100

SELECT sum((default_route_settings ->> 'throttlingRateLimit')::numeric) FROM aws.apigatewayv2_stage

SELECT _key, access_log_settings ->> 'destinationArn' FROM aws.apigatewayv2_stage

SELECT _key, access_log_settings -> 'format' FROM aws.apigatewayv2_stage

SELECT _key, access_log_settings #>> '{destinationArn}' FROM aws.apigatewayv2_stage

SELECT _key, default_route_settings #> '{throttlingBurstLimit}' FROM aws.apigatewayv2_stage

SELECT _key, json_typeof(default_route_settings -> 'throttlingRateLimit') FROM aws.apigatewayv2_stage

SELECT _key, default_route_settings::jsonb FROM aws.apigatewayv2_stage

SELECT _key, default_route_settings::text FROM aws.apigatewayv2_stage

SELECT _key FROM aws.apigatewayv2_stage WHERE default_route_settings::jsonb @> '{"detailedMetricsEnabled": true}'

SELECT _key FROM aws.apigatewayv2_stage WHERE access_log_settings::jsonb ? 'format'

SELECT _key, route_settings FROM aws.apigatewayv2_stage WHERE route_settings IS NOT NULL

SELECT _key, route_settings::json -> 'GET /orders' FROM aws.apigatewayv2_stage WHERE route_settings IS NOT NULL

SELECT k FROM aws.apigatewayv2_stage, json_object_keys(default_route_settings) k WHERE _key = (SELECT min(_key) FROM aws.apigatewayv2_stage)

SELECT e.key, e.value FROM aws.apigatewayv2_stage s, json_each(s.default_route_settings) e WHERE s._key = (SELECT min(_key) FROM aws.apigatewayv2_stage)

SELECT e.key, e.value FROM aws.apigatewayv2_stage s, json_each_text(s.default_route_settings) e WHERE s._key = (SELECT min(_key) FROM aws.apigatewayv2_stage)

SELECT json_agg(stage_name ORDER BY _key) FROM aws.apigatewayv2_stage WHERE region = 'us-east-1'

SELECT json_build_object('name', stage_name, 'auto', auto_deploy) FROM aws.apigatewayv2_stage

SELECT json_build_array(stage_name, 1, NULL, true) FROM aws.apigatewayv2_stage

SELECT jsonb_build_object('name', stage_name, 'n', 1) FROM aws.apigatewayv2_stage

SELECT to_json(stage_name) FROM aws.apigatewayv2_stage

SELECT to_json(created_date) FROM aws.apigatewayv2_stage

SELECT row_to_json(t) FROM (SELECT _key, stage_name FROM aws.apigatewayv2_stage) t

SELECT json_object_agg(_key, stage_name) FROM aws.apigatewayv2_stage WHERE region = 'eu-west-1'

SELECT '{"a": 1, "b": [1, 2]}'::json -> 'b' -> 1

SELECT '{"a": 1, "b": [1, 2]}'::json ->> 'a'

SELECT '{"a":1,   "b" : 2}'::json

SELECT '{"a":1,   "b" : 2}'::jsonb

SELECT '{"b": 1, "a": 2, "a": 3}'::jsonb

SELECT '[1, 2, 3]'::json -> -1

SELECT '"x"'::json::text

SELECT 'not json'::json

SELECT '{"a": }'::jsonb

SELECT default_route_settings = default_route_settings FROM aws.apigatewayv2_stage

SELECT DISTINCT default_route_settings FROM aws.apigatewayv2_stage

SELECT count(DISTINCT default_route_settings::text) FROM aws.apigatewayv2_stage

SELECT count(DISTINCT default_route_settings::jsonb -> 'throttling_burst_limit') FROM aws.apigatewayv2_stage

SELECT json_array_length('[1, 2, 3]')

SELECT jsonb_array_length('[1, 2, 3]'::jsonb)

SELECT jsonb_pretty('{"a": [1, 2]}'::jsonb)

SELECT json_extract_path_text(default_route_settings, 'throttlingBurstLimit') FROM aws.apigatewayv2_stage

SELECT '1.0'::jsonb = '1'::jsonb, '{"b":1,"a":2}'::jsonb = '{"a":2, "b":1}'::jsonb, '[1,2]'::jsonb <> '[2,1]'::jsonb

SELECT '{"b":[1.50, 1e3, -0, 2.5e-3], "a":"\u00e9\n", "aa":{"y":null,"x":false}}'::jsonb

SELECT '{"a":{"c":1, "b":2}}'::jsonb -> 'a', '{"a":[1, {"z":1,"y":2}]}'::jsonb #> '{a,1}'

SELECT default_route_settings::jsonb, count(*) FROM aws.apigatewayv2_stage GROUP BY 1 ORDER BY 2, 1::text

SELECT count(DISTINCT default_route_settings::jsonb) FROM aws.apigatewayv2_stage

SELECT count(*) FROM aws.apigatewayv2_stage GROUP BY default_route_settings

SELECT count(DISTINCT default_route_settings) FROM aws.apigatewayv2_stage

SELECT _key FROM aws.apigatewayv2_stage ORDER BY default_route_settings

SELECT _key FROM aws.apigatewayv2_stage WHERE default_route_settings IN ('{}'::json)

SELECT max(default_route_settings) FROM aws.apigatewayv2_stage

SELECT '1'::jsonb < '2'::jsonb

SELECT default_route_settings::text = default_route_settings::text, tags::text FROM aws.apigatewayv2_stage ORDER BY _key LIMIT 3

SELECT '"\u0000"'::jsonb

SELECT length('[1e1000, 1e-400]'::jsonb::text)

SELECT json_agg(stage_name ORDER BY _key) FROM aws.apigatewayv2_stage WHERE region = 'eu-west-1'

SELECT region, jsonb_agg(tags ORDER BY _key) FROM aws.apigatewayv2_stage GROUP BY region ORDER BY region

SELECT json_agg(default_route_settings ORDER BY _key) FILTER (WHERE auto_deploy) FROM aws.apigatewayv2_stage

SELECT json_object_agg(stage_name, created_date ORDER BY _key) FROM aws.apigatewayv2_stage WHERE region = 'eu-central-1'

SELECT jsonb_object_agg(stage_name, auto_deploy) FROM aws.apigatewayv2_stage WHERE region = 'eu-central-1'

SELECT json_agg(x) FROM aws.apigatewayv2_stage WHERE false

SELECT json_build_object('key', _key, 'created', created_date, 'settings', default_route_settings, 'tags', tags, 'n', 1.50) FROM aws.apigatewayv2_stage ORDER BY _key LIMIT 3

SELECT json_build_array(stage_name, auto_deploy, NULL, 2.0::float8, 'NaN'::float8) FROM aws.apigatewayv2_stage ORDER BY _key LIMIT 2

SELECT jsonb_build_object('b', 1, 'a', 2, 'b', 3), json_build_object('b', 1, 'a', 2, 'b', 3)

SELECT json_build_object(NULL, 1)

SELECT json_build_object('a')

SELECT to_json(stage_name), to_jsonb(created_date), to_json(ARRAY[1, 2]), to_json(tags) FROM aws.apigatewayv2_stage ORDER BY _key LIMIT 2

SELECT json_object_agg(k, v) FROM (VALUES (NULL, 1)) t(k, v)

SELECT json_object_keys(default_route_settings) AS k, count(*) FROM aws.apigatewayv2_stage GROUP BY 1 ORDER BY 1

SELECT e.key, e.value::text, count(*) FROM aws.apigatewayv2_stage s, json_each(s.default_route_settings) e GROUP BY 1, 2 ORDER BY 1, 2

SELECT count(*) FROM aws.apigatewayv2_stage CROSS JOIN json_each_text(default_route_settings)

SELECT key, value FROM aws.apigatewayv2_stage s JOIN LATERAL json_each_text(s.default_route_settings) e ON true WHERE s.region = 'eu-west-1' ORDER BY s._key, key

SELECT * FROM json_each('{"a": 1, "b": [1, 2], "a": "x"}')

SELECT * FROM jsonb_each('{"b": 1, "a": {"c": 2}}')

SELECT json_array_elements('[1, {"a" : 2}, "x", null]')

SELECT value FROM json_array_elements_text('[1, "x", null]')

SELECT json_object_keys('[1]')

SELECT * FROM json_array_elements('{"a": 1}')

SELECT default_route_settings::text AS s, count(*) FROM aws.apigatewayv2_stage GROUP BY 1 ORDER BY 1

SELECT count(*) FROM aws.apigatewayv2_stage WHERE access_log_settings::jsonb ?| '{format,x}'

SELECT count(*) FROM aws.apigatewayv2_stage WHERE access_log_settings::jsonb ?& ARRAY['format', 'destination_arn']

SELECT '{"a": 1}'::jsonb <@ '{"a": 1, "b": 2}'::jsonb, '["a"]'::jsonb @> '"a"', '{"a": 1.0}'::jsonb @> '{"a": 1}', '[[1, 2]]'::jsonb @> '[1]', '{"a": {"b": [1, 2]}}'::jsonb @> '{"a": {"b": [2]}}'

SELECT default_route_settings @> '{}' FROM aws.apigatewayv2_stage

SELECT default_route_settings ? 'a' FROM aws.apigatewayv2_stage

SELECT e.key, count(*) FROM aws.apigatewayv2_stage s LEFT JOIN LATERAL json_each_text(s.access_log_settings) e ON true GROUP BY 1 ORDER BY 1

SELECT jsonb_build_array(1, 'a', NULL, '{"b": 1, "a": 2}'::json, 1.50), to_json(ARRAY['x', NULL]), to_jsonb(tags) FROM aws.apigatewayv2_stage ORDER BY _key LIMIT 3
