-- hstore: output text, ->, ?, @>, akeys/avals/skeys/svals/each, subtraction, casts.

SELECT _key, tags FROM aws.apigatewayv2_stage

SELECT _key, stage_variables FROM aws.apigatewayv2_stage

SELECT _key, tags -> 'env' FROM aws.apigatewayv2_stage

SELECT _key FROM aws.apigatewayv2_stage WHERE tags -> 'env' = 'prod'

SELECT _key FROM aws.apigatewayv2_stage WHERE tags ? 'owner'

SELECT _key FROM aws.apigatewayv2_stage WHERE tags ?| ARRAY['owner', 'team']

SELECT _key FROM aws.apigatewayv2_stage WHERE tags ?& ARRAY['env', 'owner']

SELECT _key FROM aws.apigatewayv2_stage WHERE tags @> 'env=>prod'

SELECT _key FROM aws.apigatewayv2_stage WHERE tags @> '"cost-center"=>"cc:40"'::hstore

SELECT _key, tags -> ARRAY['env', 'owner'] FROM aws.apigatewayv2_stage

SELECT _key, akeys(tags) FROM aws.apigatewayv2_stage

SELECT _key, avals(tags) FROM aws.apigatewayv2_stage

SELECT _key, array_length(akeys(tags), 1) FROM aws.apigatewayv2_stage

SELECT _key, skeys(tags) FROM aws.apigatewayv2_stage ORDER BY 1, 2

SELECT _key, svals(tags) FROM aws.apigatewayv2_stage ORDER BY 1, 2

SELECT (each(tags)).key, (each(tags)).value FROM aws.apigatewayv2_stage

SELECT s._key, e.key, e.value FROM aws.apigatewayv2_stage s, each(s.tags) e

SELECT _key, tags - 'env'::text FROM aws.apigatewayv2_stage

SELECT _key, tags - ARRAY['env', 'owner'] FROM aws.apigatewayv2_stage

SELECT _key, tags || 'extra=>1'::hstore FROM aws.apigatewayv2_stage

SELECT _key, hstore_to_json(tags) FROM aws.apigatewayv2_stage

SELECT _key, hstore_to_jsonb(tags) FROM aws.apigatewayv2_stage

SELECT _key, tags::text FROM aws.apigatewayv2_stage

SELECT _key, exist(tags, 'env'), defined(tags, 'env') FROM aws.apigatewayv2_stage

SELECT tags -> 'team' AS team, count(*) FROM aws.apigatewayv2_stage GROUP BY 1

SELECT count(*) FROM aws.apigatewayv2_stage WHERE tags = ''::hstore

SELECT 'b=>1, a=>2, aa=>3'::hstore

SELECT 'a=>1, a=>2'::hstore

SELECT 'a=>NULL, b=>"x y"'::hstore

SELECT hstore('k', 'v')

SELECT hstore(ARRAY['a', 'b'], ARRAY['1', '2'])

SELECT 'a=>1'::hstore -> 'b'

SELECT array_length(akeys(''::hstore), 1)

SELECT stage_variables -> 'region' AS r, count(*) FROM aws.apigatewayv2_stage GROUP BY 1

SELECT _key FROM aws.apigatewayv2_stage WHERE stage_variables -> 'lambdaAlias' LIKE 'l%'

SELECT _key, (tags || stage_variables) - 'env'::text FROM aws.apigatewayv2_stage

SELECT skeys(tags) AS k, count(*) FROM aws.apigatewayv2_stage GROUP BY 1 ORDER BY 1

SELECT svals(tags) FROM aws.apigatewayv2_stage WHERE region = 'eu-west-1' ORDER BY 1

SELECT s._key, k FROM aws.apigatewayv2_stage s, skeys(s.tags) k ORDER BY 1, 2

SELECT e.key, e.value, count(*) FROM aws.apigatewayv2_stage s, each(s.tags) e GROUP BY 1, 2 ORDER BY 1, 2

SELECT * FROM each('a=>1, b=>NULL')

SELECT s._key FROM aws.apigatewayv2_stage s LEFT JOIN LATERAL skeys(s.tags) k ON true

SELECT hstore('k', 'v'), hstore('k', NULL), hstore(NULL, 'v'), hstore(ARRAY['b', 'a'], ARRAY['1', '2']), hstore(ARRAY['a', 'bb'], NULL)

SELECT tags || hstore('team', region) FROM aws.apigatewayv2_stage ORDER BY _key

SELECT hstore(ARRAY['a'], ARRAY['1', '2'])

SELECT hstore(ARRAY['a', NULL], ARRAY['1', '2'])

SELECT count(*), count(k) FROM aws.apigatewayv2_stage s LEFT JOIN LATERAL skeys(s.tags) k ON true

SELECT s._key, e FROM aws.apigatewayv2_stage s, skeys(s.tags) e WHERE EXISTS (SELECT 1 FROM aws.apigatewayv2_stage e WHERE e.stage_name = 'dev' AND e.api_id = s.api_id)
