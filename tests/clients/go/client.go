// Go drivers (Debian golang-github-lib-pq-dev and golang-github-jackc-pgx-v4-dev, built
// offline in GOPATH mode): lib/pq through database/sql and pgx v4 (Grafana's PostgreSQL data
// source is built on them). Each lists the table's columns and primary key from the
// catalogs, reads every row, runs a bound-parameter aggregate with an array parameter, and
// pgx cancels a pg_sleep through its context.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v4"
	"github.com/lib/pq"
)

var names = []string{"_key", "access_log_settings", "account_id", "api_gateway_managed",
	"auto_deploy", "client_certificate_id", "created_date", "default_route_settings",
	"deployment_id", "description", "last_deployment_status_message", "last_updated_date",
	"route_settings", "stage_arn", "stage_name", "stage_variables", "tags", "region", "api_id"}

const stages = 50

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func must(err error, what string) {
	if err != nil {
		fail("%s: %v", what, err)
	}
}

func dsn() string {
	return fmt.Sprintf("host=%s port=%s user=%s dbname=%s sslmode=disable",
		os.Getenv("PGHOST"), os.Getenv("PGPORT"), os.Getenv("PGUSER"), os.Getenv("PGDATABASE"))
}

const columnsSQL = `SELECT a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`

const primaryKeySQL = `SELECT a.attname FROM pg_index i
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
WHERE i.indrelid = 'aws.apigatewayv2_stage'::regclass AND i.indisprimary`

func libpq() {
	db, err := sql.Open("postgres", dsn())
	must(err, "lib/pq open")
	defer db.Close()
	must(db.Ping(), "lib/pq ping")

	rows, err := db.Query(columnsSQL, "aws", "apigatewayv2_stage")
	must(err, "lib/pq columns")
	var got []string
	types := map[string]string{}
	for rows.Next() {
		var name, typ string
		must(rows.Scan(&name, &typ), "scan column")
		got = append(got, name)
		types[name] = typ
	}
	must(rows.Err(), "columns rows")
	if strings.Join(got, ",") != strings.Join(names, ",") {
		fail("lib/pq columns: %v", got)
	}
	if types["tags"] != "hstore" || types["created_date"] != "timestamp without time zone" {
		fail("lib/pq column types: %v", types)
	}
	var pk string
	must(db.QueryRow(primaryKeySQL).Scan(&pk), "lib/pq primary key")
	if pk != "_key" {
		fail("primary key %q", pk)
	}

	all, err := db.Query("SELECT * FROM aws.apigatewayv2_stage ORDER BY _key")
	must(err, "lib/pq select *")
	cols, err := all.Columns()
	must(err, "columns")
	if strings.Join(cols, ",") != strings.Join(names, ",") {
		fail("lib/pq result columns %v", cols)
	}
	ctypes, err := all.ColumnTypes()
	must(err, "column types")
	if ctypes[4].DatabaseTypeName() != "BOOL" || ctypes[6].DatabaseTypeName() != "TIMESTAMP" {
		fail("lib/pq database types %s %s", ctypes[4].DatabaseTypeName(), ctypes[6].DatabaseTypeName())
	}
	n := 0
	for all.Next() {
		vals := make([]interface{}, len(cols))
		ptrs := make([]interface{}, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		must(all.Scan(ptrs...), "scan row")
		key := fmt.Sprint(vals[0])
		arn := fmt.Sprint(vals[13])
		if key != arn || !strings.HasPrefix(arn, "arn:aws") {
			fail("lib/pq row key %q arn %q", key, arn)
		}
		if vals[6] != nil {
			if _, ok := vals[6].(time.Time); !ok {
				fail("created_date decodes to %T", vals[6])
			}
		}
		n++
	}
	must(all.Err(), "rows")
	if n != stages {
		fail("lib/pq read %d rows", n)
	}

	// A Go slice bound as an array parameter for = ANY.
	var count int
	must(db.QueryRow("SELECT count(*) FROM aws.apigatewayv2_stage WHERE region = ANY($1)",
		pq.Array([]string{"us-east-1", "eu-west-1"})).Scan(&count), "lib/pq = ANY($1)")
	var want int
	must(db.QueryRow("SELECT count(*) FROM aws.apigatewayv2_stage WHERE region IN ('us-east-1', 'eu-west-1')").Scan(&want), "IN list")
	if count != want || count == 0 {
		fail("= ANY($1) counted %d, IN counted %d", count, want)
	}
}

func pgxCheck() {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn())
	must(err, "pgx connect")
	defer conn.Close(ctx)

	// pgx's type loading query: the text cast is described as text.
	var typtype string
	var typrelid uint32
	must(conn.QueryRow(ctx, "select typtype::text, typrelid from pg_type where oid=$1", uint32(25)).Scan(&typtype, &typrelid), "pgx typtype::text")
	if typtype != "b" || typrelid != 0 {
		fail("typtype %q typrelid %d", typtype, typrelid)
	}

	rows, err := conn.Query(ctx, "SELECT stage_name, region, auto_deploy, created_date, tags FROM aws.apigatewayv2_stage ORDER BY _key")
	must(err, "pgx select")
	fields := rows.FieldDescriptions()
	if string(fields[0].Name) != "stage_name" || fields[2].DataTypeOID != 16 || fields[3].DataTypeOID != 1114 {
		fail("pgx field descriptions %v", fields)
	}
	n := 0
	for rows.Next() {
		var name, region string
		var autoDeploy *bool
		var created *time.Time
		var tags *string
		must(rows.Scan(&name, &region, &autoDeploy, &created, &tags), "pgx scan")
		if name == "" || region == "" {
			fail("empty stage name or region")
		}
		n++
	}
	must(rows.Err(), "pgx rows")
	if n != stages {
		fail("pgx read %d rows", n)
	}

	var counted int64
	must(conn.QueryRow(ctx, "SELECT count(*) FROM aws.apigatewayv2_stage WHERE region = ANY($1)", []string{"us-east-1"}).Scan(&counted), "pgx = ANY($1)")
	var want int64
	must(conn.QueryRow(ctx, "SELECT count(*) FROM aws.apigatewayv2_stage WHERE region = $1", "us-east-1").Scan(&want), "pgx count")
	if counted != want || counted == 0 {
		fail("pgx = ANY counted %d, = counted %d", counted, want)
	}

	// Cancel through the context: pg_sleep stops, the connection is usable after.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	start := time.Now()
	_, err = conn.Exec(short, "SELECT pg_sleep(30)")
	cancel()
	if err == nil || time.Since(start) > 10*time.Second {
		fail("pg_sleep was not cancelled (err %v after %s)", err, time.Since(start))
	}
	conn2, err := pgx.Connect(ctx, dsn())
	must(err, "pgx reconnect")
	var one int
	must(conn2.QueryRow(ctx, "SELECT 1").Scan(&one), "pgx after cancel")
	conn2.Close(ctx)
}

func main() {
	libpq()
	pgxCheck()
	out, _ := json.Marshal(map[string]interface{}{"client": "go", "ok": true})
	fmt.Println(string(out))
}
