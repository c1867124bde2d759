-- Strings and regular expressions.

SELECT upper(stage_name), lower(region), initcap(stage_name) FROM aws.apigatewayv2_stage

SELECT length(_key), char_length(stage_name), octet_length(stage_arn) FROM aws.apigatewayv2_stage

SELECT stage_name || '@' || region FROM aws.apigatewayv2_stage

SELECT concat(stage_name, '-', NULL, region) FROM aws.apigatewayv2_stage

SELECT concat_ws('/', account_id, region, stage_name) FROM aws.apigatewayv2_stage

SELECT stage_name || NULL FROM aws.apigatewayv2_stage

SELECT substr(stage_arn, 1, 20), substring(stage_arn FROM 5 FOR 10) FROM aws.apigatewayv2_stage

SELECT substring(stage_arn FROM '/apis/([a-z0-9]+)') FROM aws.apigatewayv2_stage

SELECT substring(stage_name FROM 2) FROM aws.apigatewayv2_stage

SELECT left(stage_arn, 14), right(stage_arn, 6) FROM aws.apigatewayv2_stage

SELECT left(stage_name, -1), right(stage_name, -1) FROM aws.apigatewayv2_stage

SELECT split_part(stage_arn, ':', 4), split_part(stage_arn, '/', -1) FROM aws.apigatewayv2_stage

SELECT replace(stage_arn, 'arn:aws:', '') FROM aws.apigatewayv2_stage

SELECT translate(stage_name, 'aeiou', 'AEIOU') FROM aws.apigatewayv2_stage

SELECT trim(both '$' FROM stage_name), ltrim(stage_name, '$d'), rtrim(stage_name, 'tv') FROM aws.apigatewayv2_stage

SELECT lpad(stage_name, 10, '*'), rpad(stage_name, 10, '.') FROM aws.apigatewayv2_stage

SELECT lpad(stage_name, 2) FROM aws.apigatewayv2_stage

SELECT repeat(stage_name, 2), reverse(stage_name) FROM aws.apigatewayv2_stage

SELECT strpos(stage_arn, '/stages/'), position('/' IN stage_arn) FROM aws.apigatewayv2_stage

SELECT md5(_key) FROM aws.apigatewayv2_stage

SELECT ascii(stage_name), chr(65) FROM aws.apigatewayv2_stage

SELECT regexp_replace(stage_arn, '[0-9]', '#', 'g') FROM aws.apigatewayv2_stage

SELECT regexp_replace(stage_arn, '[0-9]', '#') FROM aws.apigatewayv2_stage

SELECT regexp_replace(stage_name, '(.)(.)', '\2\1') FROM aws.apigatewayv2_stage

SELECT regexp_matches(stage_arn, '([a-z]+)-([a-z]+)-([0-9])') FROM aws.apigatewayv2_stage

SELECT regexp_matches(stage_arn, '[0-9]{3}', 'g') FROM aws.apigatewayv2_stage WHERE stage_name = 'prod'

SELECT regexp_split_to_array(stage_arn, '[:/]') FROM aws.apigatewayv2_stage

SELECT regexp_count(stage_arn, '[0-9]') FROM aws.apigatewayv2_stage

SELECT regexp_like(stage_name, '^p') FROM aws.apigatewayv2_stage

SELECT 'abc' ~ '(', 1

SELECT stage_name FROM aws.apigatewayv2_stage WHERE stage_name ~ '['

SELECT string_to_array(stage_arn, '/') FROM aws.apigatewayv2_stage

SELECT array_to_string(ARRAY['a', NULL, 'c'], ',', '*')

SELECT format('%s in %s', stage_name, region) FROM aws.apigatewayv2_stage

SELECT format('%I.%L', 'a b', 'it''s')

SELECT quote_ident('Hello'), quote_literal('it''s'), quote_nullable(NULL)

SELECT 'abc' < 'abd', 'B' < 'a', 'abc' = 'abc '

SELECT 'a' || 1 || true

SELECT E'a\tb', 'a\tb'

SELECT U&'d\0061t\+000061'

SELECT 'x' LIKE 'X', 'x' ILIKE 'X', 'a_c' LIKE 'a\_c', 'abc' LIKE 'a\_c'

SELECT 'foo' SIMILAR TO 'f(o)+', 'foo' SIMILAR TO 'o+'

SELECT starts_with('stagesql', 'stage'), 'stagesql' ^@ 'sql'

SELECT encode('hello'::bytea, 'hex'), encode('hello'::bytea, 'base64')

SELECT to_hex(255), to_hex(-1)

SELECT btrim('  x  '), length('  x  ')

SELECT sha256('abc'::bytea)

SELECT count(*) FROM aws.apigatewayv2_stage WHERE stage_name SIMILAR TO '%(rod|ev)'

SELECT overlay(stage_name PLACING 'XX' FROM 2 FOR 1) FROM aws.apigatewayv2_stage

SELECT encode(repeat('stagesql ', 12)::bytea, 'base64')

SELECT 'abc' SIMILAR TO 'a_c', 'a.c' SIMILAR TO 'a.c', 'abc' SIMILAR TO 'a.c', 'a%c' SIMILAR TO 'a\%c'

SELECT '{ a , "b c" ,NULL, "NULL" }'::text[], '{}'::text[], '{ }'::int[]

SELECT chr(65), chr(233), chr(128512)

SELECT to_hex(-1::bigint), to_hex(-2147483648), to_hex(2147483648), to_hex(length(stage_name)) FROM aws.apigatewayv2_stage ORDER BY _key LIMIT 2

SELECT 1e16::float8::text, 0.1::float8::text, (ARRAY['a', 'b c', NULL])::text, '\x01ff'::bytea::text

SELECT regexp_split_to_array(stage_arn, '[:/]+') FROM aws.apigatewayv2_stage ORDER BY _key LIMIT 3

SELECT x FROM regexp_split_to_table('the quick  brown', '\s+') x

SELECT regexp_split_to_array('abc', ''), regexp_split_to_array('a1b22c', '[0-9]*')

SELECT regexp_matches(stage_name, '([a-z])([a-z])', 'g') FROM aws.apigatewayv2_stage WHERE region = 'eu-west-1' ORDER BY 1

SELECT regexp_matches('abc', '(x)?(b)'), regexp_matches('aBc', 'b', 'i')

SELECT regexp_matches('abc', 'z')

SELECT regexp_split_to_array('abc', 'b', 'g')

SELECT regexp_matches('abc', 'b', 'z')

SELECT substring(stage_arn FROM 'apis/([a-z0-9]+)/') AS api, count(*) FROM aws.apigatewayv2_stage GROUP BY 1 ORDER BY 1

SELECT substring('hello' FROM 'l+'), substring('hello' FROM 'z'), substring('hello' FROM 2)

SELECT width_bucket(5, 0, 10, 4)

SELECT stage_name ^@ 'pr' AS p, count(*) FROM aws.apigatewayv2_stage GROUP BY 1 ORDER BY 1

SELECT 1 AS TABLE_CAT, 2 AS "MiX", STAGE_NAME FROM aws.apigatewayv2_stage ORDER BY _key LIMIT 2

SELECT CASE WHEN auto_deploy THEN region ELSE stage_name END, CASE WHEN auto_deploy THEN 'a' ELSE 'b'::text END FROM aws.apigatewayv2_stage ORDER BY _key LIMIT 3

SELECT count FROM (SELECT count(*) FROM aws.apigatewayv2_stage) s

WITH w AS (SELECT region, COUNT(1), max(stage_name) FROM aws.apigatewayv2_stage GROUP BY region) SELECT region, Count, max FROM w ORDER BY region

SELECT CURRENT_SCHEMA, current_schema()

SELECT ARRAY[23, 25, 16]::oid[]::regtype[]::text[], (ARRAY[]::oid[])::regtype[]::text[]

SELECT pg_is_other_temp_schema(11::oid), (SELECT count(*) FROM pg_partition_ancestors('aws.apigatewayv2_stage'::regclass))

SELECT rolname, rolcanlogin, rolinherit, rolsuper FROM pg_roles WHERE rolname LIKE 'pg\_%' ORDER BY oid

SELECT r.rolname, m.rolname FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member ORDER BY 2

SELECT n.nspname, pg_get_userbyid(n.nspowner), obj_description(n.oid, 'pg_namespace'), obj_description(n.oid) FROM pg_namespace n WHERE nspname = 'public'

SELECT getdatabaseencoding(), obj_description('aws.apigatewayv2_stage'::regclass, 'pg_class'), obj_description('aws.apigatewayv2_stage'::regclass, 'pg_namespace')

SELECT e.extname, d.description FROM pg_extension e JOIN pg_description d ON d.objoid = e.oid AND d.classoid = 'pg_extension'::regclass ORDER BY 1

SELECT name, default_version, comment FROM pg_catalog.pg_available_extensions() ae WHERE name IN ('hstore', 'plpgsql') ORDER BY 1

SELECT count(*) FROM (SELECT pg_catalog.pg_partition_ancestors('aws.apigatewayv2_stage'::regclass)) s

SELECT trim(leading 'd' FROM stage_name), trim(trailing 'v' FROM stage_name), trim(stage_name), overlay(stage_name PLACING 'Z' FROM 1) FROM aws.apigatewayv2_stage

SELECT stage_name COLLATE "C", 'x' COLLATE "C", 'w'::pg_catalog.text FROM aws.apigatewayv2_stage
