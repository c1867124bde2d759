// node-postgres (`pg`) and `postgres` (porsager) against a running server: connect, list the
// schema and table from the catalog, read every column, a bound-parameter aggregate equal to
// the same count done here, and postgres.js's binary/extended paths. Exits non-zero on the
// first mismatch.
//
//   NODE_PATH=<dir with node_modules> node client.mjs
import { createRequire } from "node:module";
import assert from "node:assert/strict";
import path from "node:path";

const require = createRequire(path.join(process.env.NODE_PATH || process.cwd(), "x.js"));
const pg = require("pg");
const postgres = require("postgres");

const cfg = {
  host: process.env.PGHOST || "127.0.0.1",
  port: Number(process.env.PGPORT || 5433),
  user: process.env.PGUSER || "stagesql",
  database: process.env.PGDATABASE || "stagesql",
  password: process.env.PGPASSWORD || undefined,
};
const STAGES = Number(process.env.STAGESQL_EXPECT_STAGES || 50);
const NAMES = [
  "_key", "access_log_settings", "account_id", "api_gateway_managed", "auto_deploy",
  "client_certificate_id", "created_date", "default_route_settings", "deployment_id",
  "description", "last_deployment_status_message", "last_updated_date", "route_settings",
  "stage_arn", "stage_name", "stage_variables", "tags", "region", "api_id",
];
const REGION = "us-east-1";

function expected(rows) {
  const want = {};
  for (const r of rows) if (r.region === REGION) want[r.account_id] = (want[r.account_id] || 0) + 1;
  return want;
}

async function nodePg() {
  const client = new pg.Client({ ...cfg, application_name: "node-pg-check" });
  await client.connect();
  const tables = await client.query(
    "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema = $1",
    ["aws"]);
  assert.deepEqual(tables.rows, [{ table_schema: "aws", table_name: "apigatewayv2_stage" }]);
  const res = await client.query("SELECT * FROM aws.apigatewayv2_stage ORDER BY _key");
  assert.deepEqual(res.fields.map((f) => f.name), NAMES);
  assert.equal(res.rows.length, STAGES);
  for (const r of res.rows) {
    assert.equal(r._key, r.stage_arn);
    assert.ok(r.created_date === null || r.created_date instanceof Date);
    assert.ok(r.access_log_settings === null || typeof r.access_log_settings === "object");
  }
  const agg = await client.query({
    text: "SELECT account_id, count(*)::int AS n FROM aws.apigatewayv2_stage WHERE region = $1 GROUP BY 1 ORDER BY 1",
    values: [REGION],
  });
  const got = Object.fromEntries(agg.rows.map((r) => [r.account_id, r.n]));
  assert.deepEqual(got, expected(res.rows));
  // A named prepared statement run several times.
  for (let i = 0; i < 3; i++) {
    const c = await client.query({ name: "count-region", text: "SELECT count(*) AS n FROM aws.apigatewayv2_stage WHERE region = $1", values: [REGION] });
    assert.equal(Number(c.rows[0].n), Object.values(got).reduce((a, b) => a + b, 0));
  }
  await client.query("BEGIN");
  await client.query("COMMIT");
  await client.end();
  return res.rows;
}

async function postgresJs(rowsFromPg) {
  const sql = postgres({ ...cfg, max: 2, onnotice: () => {} });
  const [{ version }] = await sql`SELECT version()`;
  assert.match(version, /^PostgreSQL \d+\.\d+/);
  const rows = await sql`SELECT * FROM aws.apigatewayv2_stage ORDER BY _key`;
  assert.equal(rows.length, STAGES);
  assert.deepEqual(rows.columns.map((c) => c.name), NAMES);
  assert.deepEqual(rows.map((r) => r._key), rowsFromPg.map((r) => r._key));
  const region = REGION;
  const agg = await sql`SELECT account_id, count(*)::int AS n FROM aws.apigatewayv2_stage WHERE region = ${region} GROUP BY 1 ORDER BY 1`;
  assert.deepEqual(Object.fromEntries(agg.map((r) => [r.account_id, r.n])), expected(rowsFromPg));
  const [{ n }] = await sql`SELECT ${41}::int + 1 AS n`;
  assert.equal(n, 42);
  const when = new Date("2024-02-29T12:30:01.005Z");
  const [{ t }] = await sql`SELECT ${when}::timestamptz AS t`;
  assert.equal(t.getTime(), when.getTime());
  await sql.begin(async (tx) => {
    const [{ c }] = await tx`SELECT count(*)::int AS c FROM aws.apigatewayv2_stage`;
    assert.equal(c, STAGES);
  });
  let seen = 0;
  await sql`SELECT _key FROM aws.apigatewayv2_stage`.cursor(7, (batch) => { seen += batch.length; });
  assert.equal(seen, STAGES);
  await sql.end();
}

const rows = await nodePg();
await postgresJs(rows);
console.log(JSON.stringify({ client: "node", ok: true }));
