// pgjdbc against a running server: DatabaseMetaData, prepared statements past the
// server-prepare threshold, fetch size inside a transaction, ParameterMetaData,
// ResultSetMetaData, preferQueryMode=simple, then the replayed SQL of tools built on pgjdbc
// (Metabase, DBeaver). Exits non-zero on the first mismatch.
//
//   javac -cp postgresql.jar -d out ClientCheck.java
//   java -cp postgresql.jar:out ClientCheck HOST PORT USER DATABASE REPLAY_FILE...

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.*;
import java.util.*;

public class ClientCheck {
    static final String SCHEMA = "aws";
    static final String TABLE = "apigatewayv2_stage";
    static final String[] NAMES = {
        "_key", "access_log_settings", "account_id", "api_gateway_managed", "auto_deploy",
        "client_certificate_id", "created_date", "default_route_settings", "deployment_id",
        "description", "last_deployment_status_message", "last_updated_date", "route_settings",
        "stage_arn", "stage_name", "stage_variables", "tags", "region", "api_id"};
    static final String[] TYPES = {
        "text", "json", "text", "bool", "bool", "text", "timestamp", "json", "text", "text",
        "text", "timestamp", "text", "text", "text", "hstore", "hstore", "text", "text"};
    static final int STAGES = Integer.parseInt(System.getenv().getOrDefault("STAGESQL_EXPECT_STAGES", "50"));

    static void check(boolean cond, String what) {
        if (!cond) throw new AssertionError(what);
    }

    static void eq(Object got, Object want, String what) {
        if (!Objects.equals(got, want))
            throw new AssertionError(what + ": got " + got + ", want " + want);
    }

    static List<List<String>> rows(ResultSet rs) throws SQLException {
        List<List<String>> out = new ArrayList<>();
        int n = rs.getMetaData().getColumnCount();
        while (rs.next()) {
            List<String> row = new ArrayList<>();
            for (int i = 1; i <= n; i++) row.add(rs.getString(i));
            out.add(row);
        }
        rs.close();
        return out;
    }

    static List<String> column(ResultSet rs, String name) throws SQLException {
        List<String> out = new ArrayList<>();
        while (rs.next()) out.add(rs.getString(name));
        rs.close();
        return out;
    }

    static String database;

    public static void main(String[] args) throws Exception {
        database = args[3];
        String base = "jdbc:postgresql://" + args[0] + ":" + args[1] + "/" + args[3];
        Properties props = new Properties();
        props.setProperty("user", args[2]);
        String password = System.getenv("PGPASSWORD");
        if (password != null) props.setProperty("password", password);
        props.setProperty("ApplicationName", "Metabase v0.62.1 [0b6f5bb7-5c2b-4b54-9a33-8f7e2a3b4c5d]");

        try (Connection conn = DriverManager.getConnection(base, props)) {
            metadata(conn);
            queries(conn, false);
        }
        Properties simple = (Properties) props.clone();
        simple.setProperty("preferQueryMode", "simple");
        try (Connection conn = DriverManager.getConnection(base, simple)) {
            queries(conn, true);
            metadata(conn);
        }
        for (int i = 4; i < args.length; i++) {
            try (Connection conn = DriverManager.getConnection(base, props)) {
                replay(conn, Path.of(args[i]));
            }
        }
        System.out.println("{\"client\": \"pgjdbc\", \"ok\": true}");
    }

    static void metadata(Connection conn) throws SQLException {
        DatabaseMetaData md = conn.getMetaData();
        check(md.getDatabaseMajorVersion() >= 15, "major version");
        check(column(md.getSchemas(), "TABLE_SCHEM").contains(SCHEMA), "getSchemas lists aws");
        List<List<String>> tables = rows(md.getTables(null, SCHEMA, "%", new String[] {"TABLE"}));
        eq(tables.size(), 1, "getTables count");
        eq(tables.get(0).get(2), TABLE, "getTables name");
        eq(tables.get(0).get(3), "TABLE", "getTables type");
        check(tables.get(0).get(4) != null, "table remarks");
        check(column(md.getTables(null, null, "apigatewayv2%", null), "TABLE_NAME").contains(TABLE),
              "getTables by pattern");

        ResultSet cols = md.getColumns(null, SCHEMA, TABLE, "%");
        List<String> names = new ArrayList<>(), types = new ArrayList<>();
        List<Integer> nullable = new ArrayList<>();
        while (cols.next()) {
            names.add(cols.getString("COLUMN_NAME"));
            types.add(cols.getString("TYPE_NAME"));
            nullable.add(cols.getInt("NULLABLE"));
            eq(cols.getInt("ORDINAL_POSITION"), names.size(), "ordinal");
            check(cols.getString("REMARKS") != null, "column remarks");
        }
        cols.close();
        eq(names, Arrays.asList(NAMES), "getColumns names");
        eq(types, Arrays.asList(TYPES), "getColumns types");
        eq(nullable.get(0), DatabaseMetaData.columnNoNulls, "_key not null");
        eq(nullable.get(1), DatabaseMetaData.columnNullable, "access_log_settings nullable");

        eq(column(md.getPrimaryKeys(null, SCHEMA, TABLE), "COLUMN_NAME"), List.of("_key"), "getPrimaryKeys");
        eq(rows(md.getImportedKeys(null, SCHEMA, TABLE)).size(), 0, "getImportedKeys");
        eq(rows(md.getExportedKeys(null, SCHEMA, TABLE)).size(), 0, "getExportedKeys");
        List<String> idx = column(md.getIndexInfo(null, SCHEMA, TABLE, false, true), "COLUMN_NAME");
        check(idx.contains("_key"), "getIndexInfo names _key: " + idx);
        List<String> typeNames = column(md.getTypeInfo(), "TYPE_NAME");
        for (String t : List.of("text", "bool", "int8", "json", "timestamp", "hstore"))
            check(typeNames.contains(t), "getTypeInfo has " + t);
        String keywords = md.getSQLKeywords();
        check(keywords != null && !keywords.isEmpty(), "getSQLKeywords");
        check(!md.isReadOnly(), "isReadOnly follows the connection (not set read-only yet)");
        rows(md.getTablePrivileges(null, SCHEMA, TABLE));
        rows(md.getColumnPrivileges(null, SCHEMA, TABLE, "%"));
        rows(md.getFunctions(null, "pg_catalog", "version"));
        rows(md.getProcedures(null, "aws", "%"));
        rows(md.getCatalogs());
        rows(md.getTableTypes());
        rows(md.getUDTs(null, null, "%", null));
        rows(md.getBestRowIdentifier(null, SCHEMA, TABLE, DatabaseMetaData.bestRowSession, true));
    }

    static void queries(Connection conn, boolean simpleMode) throws SQLException, java.io.IOException {
        try (Statement st = conn.createStatement()) {
            ResultSet rs = st.executeQuery("SELECT * FROM aws.apigatewayv2_stage ORDER BY _key");
            ResultSetMetaData rsmd = rs.getMetaData();
            eq(rsmd.getColumnCount(), NAMES.length, "column count");
            Map<String, Integer> perAccount = new TreeMap<>();
            int n = 0;
            while (rs.next()) {
                n++;
                for (int i = 1; i <= NAMES.length; i++) rs.getObject(i);
                check(rs.getString("_key").equals(rs.getString("stage_arn")), "_key = stage_arn");
                if ("us-east-1".equals(rs.getString("region")))
                    perAccount.merge(rs.getString("account_id"), 1, Integer::sum);
                Timestamp created = rs.getTimestamp("created_date");
                check(created == null || created.getTime() > 0, "timestamp");
            }
            eq(n, STAGES, "row count");
            for (int i = 1; i <= NAMES.length; i++) {
                eq(rsmd.getColumnName(i), NAMES[i - 1], "rsmd name " + i);
                eq(rsmd.getColumnTypeName(i), TYPES[i - 1], "rsmd type " + i);
                rsmd.isNullable(i);
                rsmd.isAutoIncrement(i);
                rsmd.getTableName(i);
                rsmd.getSchemaName(i);
            }
            rs.close();

            String agg = "SELECT account_id, count(*) AS \"count\" FROM aws.apigatewayv2_stage "
                + "WHERE region = ? GROUP BY account_id ORDER BY account_id ASC";
            try (PreparedStatement ps = conn.prepareStatement(agg)) {
                if (!simpleMode) { // simple mode interpolates; there is nothing to describe
                    ParameterMetaData pmd = ps.getParameterMetaData();
                    eq(pmd.getParameterCount(), 1, "parameter count");
                    eq(pmd.getParameterTypeName(1), "text", "parameter type");
                }
                for (int round = 0; round < 8; round++) { // past prepareThreshold=5
                    ps.setString(1, "us-east-1");
                    Map<String, Integer> got = new TreeMap<>();
                    try (ResultSet r = ps.executeQuery()) {
                        while (r.next()) got.put(r.getString(1), r.getInt(2));
                    }
                    eq(got, perAccount, "aggregate round " + round);
                }
            }
            try (PreparedStatement ps = conn.prepareStatement(
                    "SELECT created_date, auto_deploy, tags FROM aws.apigatewayv2_stage WHERE _key = ?")) {
                for (int round = 0; round < 7; round++) {
                    ps.setString(1, "no-such-key");
                    try (ResultSet r = ps.executeQuery()) { check(!r.next(), "no row"); }
                }
            }
        }

        // The driver's COPY API.
        if (!simpleMode) {
            org.postgresql.copy.CopyManager copy =
                conn.unwrap(org.postgresql.PGConnection.class).getCopyAPI();
            java.io.StringWriter out = new java.io.StringWriter();
            long copied = copy.copyOut(
                "COPY (SELECT _key, region FROM aws.apigatewayv2_stage ORDER BY _key) TO STDOUT WITH (FORMAT csv)", out);
            eq(copied, (long) STAGES, "COPY row count");
            eq(out.toString().split("\n").length, STAGES, "COPY lines");
        }

        // setFetchSize inside a transaction: portal with max_rows, PortalSuspended.
        conn.setAutoCommit(false);
        try (Statement st = conn.createStatement()) {
            st.setFetchSize(7);
            try (ResultSet rs = st.executeQuery("SELECT _key FROM aws.apigatewayv2_stage ORDER BY _key")) {
                int n = 0;
                while (rs.next()) n++;
                eq(n, STAGES, "fetch-size rows");
            }
        }
        conn.commit();
        conn.setAutoCommit(true);
        conn.setReadOnly(true);
        conn.setTransactionIsolation(Connection.TRANSACTION_READ_UNCOMMITTED);
        conn.setTransactionIsolation(Connection.TRANSACTION_READ_COMMITTED);
        eq(conn.getTransactionIsolation(), Connection.TRANSACTION_READ_COMMITTED, "isolation");
        conn.setReadOnly(false);
        eq(conn.getSchema(), "public", "getSchema");
        eq(conn.getCatalog(), database, "getCatalog");
    }

    /** Runs a replay file: blocks headed `--@ name`, with `--@? rows=N` / `--@? contains=a|b`. */
    static void replay(Connection conn, Path file) throws Exception {
        List<String> lines = Files.readAllLines(file);
        String name = null;
        StringBuilder sql = new StringBuilder();
        List<String> expects = new ArrayList<>();
        int ran = 0;
        for (int i = 0; i <= lines.size(); i++) {
            String line = i < lines.size() ? lines.get(i) : "--@ <end>";
            if (line.startsWith("--@ ")) {
                if (name != null) { runOne(conn, file, name, sql.toString().strip(), expects); ran++; }
                name = line.substring(4).strip();
                sql.setLength(0);
                expects = new ArrayList<>();
            } else if (line.startsWith("--@? ")) {
                expects.add(line.substring(5).strip());
            } else if (name != null) {
                sql.append(line).append('\n');
            }
        }
        check(ran > 0, "replayed something from " + file);
    }

    static void runOne(Connection conn, Path file, String name, String sql, List<String> expects)
            throws SQLException {
        List<List<String>> result = new ArrayList<>();
        List<String> params = null;
        for (String expect : expects)
            if (expect.startsWith("params=")) params = Arrays.asList(expect.substring(7).split("\\|", -1));
        try (Statement st = params == null ? conn.createStatement() : conn.prepareStatement(sql)) {
            boolean hasRows;
            if (params == null) {
                hasRows = st.execute(sql);
            } else {
                PreparedStatement ps = (PreparedStatement) st;
                for (int i = 0; i < params.size(); i++) ps.setString(i + 1, params.get(i));
                hasRows = ps.execute();
            }
            while (true) {
                if (hasRows) result.addAll(rows(st.getResultSet()));
                else if (st.getUpdateCount() == -1) break;
                hasRows = st.getMoreResults();
            }
        } catch (SQLException e) {
            throw new AssertionError(file.getFileName() + " / " + name + ": " + e.getMessage(), e);
        }
        // Set when checking the replay files themselves against a real PostgreSQL, whose oids
        // and databases differ from this server's.
        if (System.getenv("STAGESQL_REPLAY_NO_EXPECT") != null) return;
        for (String expect : expects) {
            String what = file.getFileName() + " / " + name + ": " + expect;
            if (expect.startsWith("rows=")) {
                eq(result.size(), Integer.parseInt(expect.substring(5)), what);
            } else if (expect.startsWith("contains=")) {
                List<String> want = Arrays.asList(expect.substring(9).split("\\|", -1));
                boolean found = false;
                for (List<String> row : result) {
                    List<String> shown = new ArrayList<>();
                    for (String v : row) shown.add(v == null ? "null" : v);
                    if (shown.size() >= want.size() && shown.subList(0, want.size()).equals(want)) found = true;
                }
                check(found, what + " in " + result);
            } else if (!expect.startsWith("params=")) {
                throw new AssertionError("unknown expectation " + what);
            }
        }
    }
}
