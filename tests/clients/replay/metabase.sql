-- Metabase (postgres driver on pgjdbc), replayed through pgjdbc by ClientCheck.java.
-- Reconstructed from Metabase's src/metabase/driver/postgres.clj and sql_jdbc sync code
-- (v0.55 and v0.62 shapes). Blocks: `--@ name`, then `--@? rows=N`, `--@? contains=a|b`
-- (some row starts with these text values), `--@? params=a|b` (bound as varchar).

--@ set application_name
SET application_name = 'Metabase v0.62.1 [0b6f5bb7-5c2b-4b54-9a33-8f7e2a3b4c5d]'

--@ can-connect
--@? rows=1
--@? contains=1
SELECT 1

--@ isolation
--@? rows=1
--@? contains=read committed
SHOW TRANSACTION ISOLATION LEVEL

--@ current_catalog
--@? contains=stagesql
select current_catalog

--@ read uncommitted
SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ UNCOMMITTED

--@ extra_float_digits (older pgjdbc)
SET extra_float_digits = 2

--@ table privileges (v0.62)
--@? rows=1
--@? contains=null|aws|apigatewayv2_stage|f|t|f|f
with table_privileges as (
 select
   NULL as role,
   t.schemaname as schema,
   t.objectname as table,
   pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'update') as update,
   pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'select') as select,
   pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'insert') as insert,
   pg_catalog.has_table_privilege(     current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'delete') as delete
 from (
   select schemaname, tablename as objectname from pg_catalog.pg_tables
   union
   select schemaname, viewname as objectname from pg_catalog.pg_views
   union
   select schemaname, matviewname as objectname from pg_catalog.pg_matviews
 ) t
 where t.schemaname !~ '^pg_'
   and t.schemaname <> 'information_schema'
   and pg_catalog.has_schema_privilege(current_user, t.schemaname, 'usage')
)
select t.*
from table_privileges t

--@ table privileges (v0.49-0.55)
--@? rows=1
--@? contains=null|aws|apigatewayv2_stage|f|t|f|f
with table_privileges as (
 select
   NULL as role,
   t.schemaname as schema,
   t.objectname as table,
   pg_catalog.has_any_column_privilege(current_user, '"' || t.schemaname || '"' || '.' || '"' || t.objectname || '"',  'update') as update,
   pg_catalog.has_any_column_privilege(current_user, '"' || t.schemaname || '"' || '.' || '"' || t.objectname || '"',  'select') as select,
   pg_catalog.has_any_column_privilege(current_user, '"' || t.schemaname || '"' || '.' || '"' || t.objectname || '"',  'insert') as insert,
   pg_catalog.has_table_privilege(     current_user, '"' || t.schemaname || '"' || '.' || '"' || t.objectname || '"',  'delete') as delete
 from (
   select schemaname, tablename as objectname from pg_catalog.pg_tables
   union
   select schemaname, viewname as objectname from pg_catalog.pg_views
   union
   select schemaname, matviewname as objectname from pg_catalog.pg_matviews
 ) t
 where t.schemaname !~ '^pg_'
   and t.schemaname <> 'information_schema'
   and pg_catalog.has_schema_privilege(current_user, t.schemaname, 'usage')
)
select t.*
from table_privileges t

--@ get-tables (v0.55, literals)
--@? rows=1
--@? contains=aws|apigatewayv2_stage|TABLE
SELECT "n"."nspname" AS "schema", "c"."relname" AS "name", CASE "c"."relkind" WHEN 'r' THEN 'TABLE' WHEN 'p' THEN 'PARTITIONED TABLE' WHEN 'v' THEN 'VIEW' WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE NULL END AS "type", "d"."description" AS "description", "stat"."n_live_tup" AS "estimated_row_count" FROM "pg_catalog"."pg_class" AS "c" INNER JOIN "pg_catalog"."pg_namespace" AS "n" ON "c"."relnamespace" = "n"."oid" LEFT JOIN "pg_catalog"."pg_description" AS "d" ON ("c"."oid" = "d"."objoid") AND ("d"."objsubid" = '0') AND ("d"."classoid" = 'pg_class'::regclass) LEFT JOIN "pg_stat_user_tables" AS "stat" ON ("n"."nspname" = "stat"."schemaname") AND ("c"."relname" = "stat"."relname") WHERE ("c"."relnamespace" = "n"."oid") AND ("n"."nspname" !~ '^pg_') AND ("n"."nspname" <> 'information_schema') AND c.relkind in ('r', 'p', 'v', 'f', 'm') AND ("n"."nspname" IN ('aws')) ORDER BY "type" ASC, "schema" ASC, "name" ASC

--@ get-tables (v0.62, bound)
--@? params=0|0|^pg_|information_schema|aws
--@? rows=1
--@? contains=aws|apigatewayv2_stage|TABLE
SELECT "n"."nspname" AS "schema", "c"."relname" AS "name", CASE "c"."relkind" WHEN 'r' THEN 'TABLE' WHEN 'p' THEN 'PARTITIONED TABLE' WHEN 'v' THEN 'VIEW' WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE NULL END AS "type", "d"."description" AS "description", NULLIF("stat"."n_live_tup", CAST(? AS int8)) AS "estimated_row_count" FROM "pg_catalog"."pg_class" AS "c" INNER JOIN "pg_catalog"."pg_namespace" AS "n" ON "c"."relnamespace" = "n"."oid" LEFT JOIN "pg_catalog"."pg_description" AS "d" ON ("c"."oid" = "d"."objoid") AND ("d"."objsubid" = CAST(? AS int8)) AND ("d"."classoid" = 'pg_class'::regclass) LEFT JOIN "pg_stat_user_tables" AS "stat" ON ("n"."nspname" = "stat"."schemaname") AND ("c"."relname" = "stat"."relname") WHERE ("c"."relnamespace" = "n"."oid") AND ("n"."nspname" !~ ?) AND ("n"."nspname" <> ?) AND c.relkind in ('r', 'p', 'v', 'f', 'm') AND ("n"."nspname" IN (?)) ORDER BY "type" ASC, "schema" ASC, "name" ASC

--@ db timezone
--@? rows=1
show timezone;

--@ enum types
--@? rows=0
SELECT nspname, typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.oid IN (SELECT DISTINCT enumtypid FROM pg_enum e)

--@ describe-fields
--@? rows=19
--@? contains=_key|text|0|aws|apigatewayv2_stage|t|Unique key of the row: the stage ARN.|t|f
--@? contains=stage_variables|hstore|15|aws|apigatewayv2_stage|f
--@? contains=created_date|timestamp|6|aws|apigatewayv2_stage|f
SELECT "c"."column_name" AS "name", CASE WHEN "c"."udt_schema" IN ('public', 'pg_catalog') THEN FORMAT('%s', "c"."udt_name") ELSE FORMAT('"%s"."%s"', "c"."udt_schema", "c"."udt_name") END AS "database-type", "c"."ordinal_position" - 1 AS "database-position", "c"."table_schema" AS "table-schema", "c"."table_name" AS "table-name", "pk"."column_name" IS NOT NULL AS "pk?", COL_DESCRIPTION(CAST(CAST(FORMAT('%I.%I', CAST("c"."table_schema" AS TEXT), CAST("c"."table_name" AS TEXT)) AS REGCLASS) AS OID), "c"."ordinal_position") AS "field-comment", (("column_default" IS NULL) OR (LOWER("column_default") = 'null')) AND ("is_nullable" = 'NO') AND NOT ((("column_default" IS NOT NULL) AND ("column_default" LIKE '%nextval(%')) OR ("is_identity" <> 'NO')) AS "database-required", (("column_default" IS NOT NULL) AND ("column_default" LIKE '%nextval(%')) OR ("is_identity" <> 'NO') AS "database-is-auto-increment" FROM "information_schema"."columns" AS "c" LEFT JOIN (SELECT "tc"."table_schema", "tc"."table_name", "kc"."column_name" FROM "information_schema"."table_constraints" AS "tc" INNER JOIN "information_schema"."key_column_usage" AS "kc" ON ("tc"."constraint_name" = "kc"."constraint_name") AND ("tc"."table_schema" = "kc"."table_schema") AND ("tc"."table_name" = "kc"."table_name") WHERE "tc"."constraint_type" = 'PRIMARY KEY') AS "pk" ON ("c"."table_schema" = "pk"."table_schema") AND ("c"."table_name" = "pk"."table_name") AND ("c"."column_name" = "pk"."column_name") WHERE c.table_schema !~ '^information_schema|catalog_history|pg_' AND ("c"."table_schema" IN ('aws')) AND ("c"."table_name" IN ('apigatewayv2_stage'))
UNION ALL
SELECT "pa"."attname" AS "name", CASE WHEN "ptn"."nspname" IN ('public', 'pg_catalog') THEN FORMAT('%s', "pt"."typname") ELSE FORMAT('"%s"."%s"', "ptn"."nspname", "pt"."typname") END AS "database-type", "pa"."attnum" - 1 AS "database-position", "pn"."nspname" AS "table-schema", "pc"."relname" AS "table-name", FALSE AS "pk?", NULL AS "field-comment", FALSE AS "database-required", FALSE AS "database-is-auto-increment" FROM "pg_catalog"."pg_class" AS "pc" INNER JOIN "pg_catalog"."pg_namespace" AS "pn" ON "pn"."oid" = "pc"."relnamespace" INNER JOIN "pg_catalog"."pg_attribute" AS "pa" ON "pa"."attrelid" = "pc"."oid" INNER JOIN "pg_catalog"."pg_type" AS "pt" ON "pt"."oid" = "pa"."atttypid" INNER JOIN "pg_catalog"."pg_namespace" AS "ptn" ON "ptn"."oid" = "pt"."typnamespace" WHERE ("pc"."relkind" = 'm') AND ("pa"."attnum" >= 1) AND ("pn"."nspname" IN ('aws')) AND ("pc"."relname" IN ('apigatewayv2_stage'))
ORDER BY "table-schema" ASC, "table-name" ASC, "database-position" ASC

--@ describe-fks
--@? rows=0
SELECT "fk_ns"."nspname" AS "fk-table-schema", "fk_table"."relname" AS "fk-table-name", "fk_column"."attname" AS "fk-column-name", "pk_ns"."nspname" AS "pk-table-schema", "pk_table"."relname" AS "pk-table-name", "pk_column"."attname" AS "pk-column-name" FROM "pg_constraint" AS "c" INNER JOIN "pg_class" AS "fk_table" ON "c"."conrelid" = "fk_table"."oid" INNER JOIN "pg_namespace" AS "fk_ns" ON "c"."connamespace" = "fk_ns"."oid" INNER JOIN "pg_attribute" AS "fk_column" ON "c"."conrelid" = "fk_column"."attrelid" INNER JOIN "pg_class" AS "pk_table" ON "c"."confrelid" = "pk_table"."oid" INNER JOIN "pg_namespace" AS "pk_ns" ON "pk_table"."relnamespace" = "pk_ns"."oid" INNER JOIN "pg_attribute" AS "pk_column" ON "c"."confrelid" = "pk_column"."attrelid" WHERE fk_ns.nspname !~ '^information_schema|catalog_history|pg_' AND ("c"."contype" = 'f'::char) AND ("fk_column"."attnum" = ANY(c.conkey)) AND ("pk_column"."attnum" = ANY(c.confkey)) AND ("fk_table"."relname" IN ('apigatewayv2_stage')) AND ("fk_ns"."nspname" IN ('aws')) ORDER BY "fk-table-schema" ASC, "fk-table-name" ASC

--@ describe-indexes
--@? contains=aws|apigatewayv2_stage|_key
SELECT "tmp"."table-schema", "tmp"."table-name", TRIM(BOTH '"' FROM PG_CATALOG.PG_GET_INDEXDEF("tmp"."ci_oid", "tmp"."pos", FALSE)) AS "field-name" FROM (SELECT "n"."nspname" AS "table-schema", "ct"."relname" AS "table-name", "ci"."oid" AS "ci_oid", (INFORMATION_SCHEMA._PG_EXPANDARRAY("i"."indkey")).n AS "pos" FROM "pg_catalog"."pg_class" AS "ct" INNER JOIN "pg_catalog"."pg_namespace" AS "n" ON "ct"."relnamespace" = "n"."oid" INNER JOIN "pg_catalog"."pg_index" AS "i" ON "ct"."oid" = "i"."indrelid" INNER JOIN "pg_catalog"."pg_class" AS "ci" ON "ci"."oid" = "i"."indexrelid" WHERE (PG_CATALOG.PG_GET_EXPR("i"."indpred", "i"."indrelid") IS NULL) AND n.nspname !~ '^information_schema|catalog_history|pg_' AND ("n"."nspname" IN ('aws')) AND ("ct"."relname" IN ('apigatewayv2_stage'))) AS "tmp" WHERE "tmp"."pos" = 1

--@ json sampling
--@? rows=50
SELECT CASE WHEN 50000 < LENGTH(CAST("access_log_settings" AS TEXT)) THEN NULL ELSE "access_log_settings" END AS "access_log_settings", CASE WHEN 50000 < LENGTH(CAST("default_route_settings" AS TEXT)) THEN NULL ELSE "default_route_settings" END AS "default_route_settings" FROM "aws"."apigatewayv2_stage" LIMIT 500

--@ json sampling by pk
--@? rows=100
(SELECT CASE WHEN 50000 < LENGTH(CAST("access_log_settings" AS TEXT)) THEN NULL ELSE "access_log_settings" END AS "access_log_settings", CASE WHEN 50000 < LENGTH(CAST("default_route_settings" AS TEXT)) THEN NULL ELSE "default_route_settings" END AS "default_route_settings" FROM "aws"."apigatewayv2_stage" ORDER BY "_key" ASC LIMIT 250) UNION ALL (SELECT CASE WHEN 50000 < LENGTH(CAST("access_log_settings" AS TEXT)) THEN NULL ELSE "access_log_settings" END AS "access_log_settings", CASE WHEN 50000 < LENGTH(CAST("default_route_settings" AS TEXT)) THEN NULL ELSE "default_route_settings" END AS "default_route_settings" FROM "aws"."apigatewayv2_stage" ORDER BY "_key" DESC LIMIT 250)

--@ fingerprint
--@? rows=50
-- Metabase
SELECT SUBSTRING("aws"."apigatewayv2_stage"."_key", 1, 1234) AS "substring1234", "aws"."apigatewayv2_stage"."access_log_settings" AS "access_log_settings", SUBSTRING("aws"."apigatewayv2_stage"."account_id", 1, 1234) AS "substring1236", "aws"."apigatewayv2_stage"."api_gateway_managed" AS "api_gateway_managed", "aws"."apigatewayv2_stage"."auto_deploy" AS "auto_deploy", SUBSTRING("aws"."apigatewayv2_stage"."client_certificate_id", 1, 1234) AS "substring1239", "aws"."apigatewayv2_stage"."created_date" AS "created_date", "aws"."apigatewayv2_stage"."default_route_settings" AS "default_route_settings", SUBSTRING("aws"."apigatewayv2_stage"."deployment_id", 1, 1234) AS "substring1242", SUBSTRING("aws"."apigatewayv2_stage"."description", 1, 1234) AS "substring1243", SUBSTRING("aws"."apigatewayv2_stage"."last_deployment_status_message", 1, 1234) AS "substring1244", "aws"."apigatewayv2_stage"."last_updated_date" AS "last_updated_date", SUBSTRING("aws"."apigatewayv2_stage"."route_settings", 1, 1234) AS "substring1246", SUBSTRING("aws"."apigatewayv2_stage"."stage_arn", 1, 1234) AS "substring1247", SUBSTRING("aws"."apigatewayv2_stage"."stage_name", 1, 1234) AS "substring1248", "aws"."apigatewayv2_stage"."stage_variables" AS "stage_variables", "aws"."apigatewayv2_stage"."tags" AS "tags", SUBSTRING("aws"."apigatewayv2_stage"."region", 1, 1234) AS "substring1251", SUBSTRING("aws"."apigatewayv2_stage"."api_id", 1, 1234) AS "substring1252" FROM "aws"."apigatewayv2_stage" LIMIT 10000

--@ field values
--@? rows=5
-- Metabase
SELECT "aws"."apigatewayv2_stage"."region" AS "region" FROM "aws"."apigatewayv2_stage" GROUP BY "aws"."apigatewayv2_stage"."region" ORDER BY "aws"."apigatewayv2_stage"."region" ASC LIMIT 1000

--@ report timezone
SET SESSION TIMEZONE TO 'UTC';

--@ raw table view
--@? rows=50
-- Metabase:: userID: 1 queryType: MBQL queryHash: 5f1b0d7e2a9c4b3f8e6d1c0a9b8e7f6d5c4b3a29180f7e6d5c4b3a2918070605
SELECT "aws"."apigatewayv2_stage"."_key" AS "_key", "aws"."apigatewayv2_stage"."access_log_settings" AS "access_log_settings", "aws"."apigatewayv2_stage"."account_id" AS "account_id", "aws"."apigatewayv2_stage"."api_gateway_managed" AS "api_gateway_managed", "aws"."apigatewayv2_stage"."auto_deploy" AS "auto_deploy", "aws"."apigatewayv2_stage"."client_certificate_id" AS "client_certificate_id", "aws"."apigatewayv2_stage"."created_date" AS "created_date", "aws"."apigatewayv2_stage"."default_route_settings" AS "default_route_settings", "aws"."apigatewayv2_stage"."deployment_id" AS "deployment_id", "aws"."apigatewayv2_stage"."description" AS "description", "aws"."apigatewayv2_stage"."last_deployment_status_message" AS "last_deployment_status_message", "aws"."apigatewayv2_stage"."last_updated_date" AS "last_updated_date", "aws"."apigatewayv2_stage"."route_settings" AS "route_settings", "aws"."apigatewayv2_stage"."stage_arn" AS "stage_arn", "aws"."apigatewayv2_stage"."stage_name" AS "stage_name", "aws"."apigatewayv2_stage"."stage_variables" AS "stage_variables", "aws"."apigatewayv2_stage"."tags" AS "tags", "aws"."apigatewayv2_stage"."region" AS "region", "aws"."apigatewayv2_stage"."api_id" AS "api_id" FROM "aws"."apigatewayv2_stage" LIMIT 2000

--@ count by account, filtered
--@? params=us-east-1
--@? contains=123456789012|8
-- Metabase:: userID: 1 queryType: MBQL queryHash: 5f1b0d7e2a9c4b3f8e6d1c0a9b8e7f6d5c4b3a29180f7e6d5c4b3a2918070605
SELECT "aws"."apigatewayv2_stage"."account_id" AS "account_id", COUNT(*) AS "count" FROM "aws"."apigatewayv2_stage" WHERE "aws"."apigatewayv2_stage"."region" = ? GROUP BY "aws"."apigatewayv2_stage"."account_id" ORDER BY "aws"."apigatewayv2_stage"."account_id" ASC

--@ count by month
--@? params=no-such-stage
-- Metabase:: userID: 1 queryType: MBQL queryHash: 5f1b0d7e2a9c4b3f8e6d1c0a9b8e7f6d5c4b3a29180f7e6d5c4b3a2918070605
SELECT DATE_TRUNC('month', "aws"."apigatewayv2_stage"."created_date") AS "created_date", COUNT(*) AS "count" FROM "aws"."apigatewayv2_stage" WHERE ("aws"."apigatewayv2_stage"."stage_name" <> ?) OR ("aws"."apigatewayv2_stage"."stage_name" IS NULL) GROUP BY DATE_TRUNC('month', "aws"."apigatewayv2_stage"."created_date") ORDER BY DATE_TRUNC('month', "aws"."apigatewayv2_stage"."created_date") ASC

--@ distinct count
-- Metabase:: userID: 1 queryType: MBQL queryHash: 5f1b0d7e2a9c4b3f8e6d1c0a9b8e7f6d5c4b3a29180f7e6d5c4b3a2918070605
SELECT COUNT(DISTINCT "aws"."apigatewayv2_stage"."api_id") AS "count" FROM "aws"."apigatewayv2_stage"

--@ contains filter
--@? params=%prod%
-- Metabase:: userID: 1 queryType: MBQL queryHash: 5f1b0d7e2a9c4b3f8e6d1c0a9b8e7f6d5c4b3a29180f7e6d5c4b3a2918070605
SELECT "aws"."apigatewayv2_stage"."_key" AS "_key", "aws"."apigatewayv2_stage"."access_log_settings" AS "access_log_settings", "aws"."apigatewayv2_stage"."account_id" AS "account_id", "aws"."apigatewayv2_stage"."api_gateway_managed" AS "api_gateway_managed", "aws"."apigatewayv2_stage"."auto_deploy" AS "auto_deploy", "aws"."apigatewayv2_stage"."client_certificate_id" AS "client_certificate_id", "aws"."apigatewayv2_stage"."created_date" AS "created_date", "aws"."apigatewayv2_stage"."default_route_settings" AS "default_route_settings", "aws"."apigatewayv2_stage"."deployment_id" AS "deployment_id", "aws"."apigatewayv2_stage"."description" AS "description", "aws"."apigatewayv2_stage"."last_deployment_status_message" AS "last_deployment_status_message", "aws"."apigatewayv2_stage"."last_updated_date" AS "last_updated_date", "aws"."apigatewayv2_stage"."route_settings" AS "route_settings", "aws"."apigatewayv2_stage"."stage_arn" AS "stage_arn", "aws"."apigatewayv2_stage"."stage_name" AS "stage_name", "aws"."apigatewayv2_stage"."stage_variables" AS "stage_variables", "aws"."apigatewayv2_stage"."tags" AS "tags", "aws"."apigatewayv2_stage"."region" AS "region", "aws"."apigatewayv2_stage"."api_id" AS "api_id" FROM "aws"."apigatewayv2_stage" WHERE LOWER("aws"."apigatewayv2_stage"."description") LIKE ? LIMIT 2000

--@ read committed
SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED
