// SCRAM-SHA-256 over TLS with node-postgres (`pg`) and `postgres` (porsager), each with its own
// SCRAM code: the right password logs in and reads the table, a wrong one gets 28P01.
//
//   NODE_PATH=<dir with node_modules> STAGESQL_CA=<ca.pem> PGPASSWORD=... node scram.mjs
import { createRequire } from "node:module";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

const require = createRequire(path.join(process.env.NODE_PATH || process.cwd(), "x.js"));
const pg = require("pg");
const postgres = require("postgres");

const ca = fs.readFileSync(process.env.STAGESQL_CA, "utf8");
// The certificate names localhost; connect to 127.0.0.1 but verify against that name.
const ssl = { ca, servername: "localhost", checkServerIdentity: () => undefined };
const cfg = {
  host: process.env.PGHOST || "127.0.0.1",
  port: Number(process.env.PGPORT || 5433),
  user: process.env.PGUSER || "stagesql",
  database: process.env.PGDATABASE || "stagesql",
};
const password = process.env.PGPASSWORD;
const STAGES = Number(process.env.STAGESQL_EXPECT_STAGES || 50);
const WRONG = "not-the-password";

async function nodePg(pw) {
  const client = new pg.Client({ ...cfg, password: pw, ssl });
  await client.connect();
  try {
    const r = await client.query("SELECT current_user AS u, count(*)::int4 AS n FROM aws.apigatewayv2_stage");
    return r.rows[0];
  } finally {
    await client.end();
  }
}

async function postgresJs(pw) {
  const sql = postgres({ ...cfg, password: pw, ssl, max: 1, connect_timeout: 10 });
  try {
    const rows = await sql`SELECT current_user AS u, count(*)::int4 AS n FROM aws.apigatewayv2_stage`;
    return rows[0];
  } finally {
    await sql.end({ timeout: 1 });
  }
}

for (const [name, connect] of [["pg", nodePg], ["postgres", postgresJs]]) {
  const row = await connect(password);
  assert.equal(row.u, cfg.user, `${name}: current_user`);
  assert.equal(row.n, STAGES, `${name}: rows`);
  await assert.rejects(connect(WRONG), (e) => {
    assert.equal(e.code, "28P01", `${name}: wrong password is 28P01 (${e})`);
    return true;
  });
}
console.log(JSON.stringify({ client: "scram+tls: pg, postgres", ok: true }));
