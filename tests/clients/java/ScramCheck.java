// pgjdbc's own SCRAM-SHA-256 (the ongres library it bundles) over TLS with the CA verified
// (sslmode=verify-full): the right password logs in and reads the table, a wrong one gets
// SQLSTATE 28P01. Exits non-zero on the first mismatch.
//
//   java -cp postgresql.jar:out ScramCheck HOST PORT USER DATABASE CA_FILE   (PGPASSWORD set)

import java.sql.*;
import java.util.*;

public class ScramCheck {
    static Connection connect(String url, String user, String password, String ca) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", user);
        props.setProperty("password", password);
        props.setProperty("sslmode", "verify-full");
        props.setProperty("sslrootcert", ca);
        return DriverManager.getConnection(url, props);
    }

    public static void main(String[] args) throws Exception {
        // The certificate names localhost.
        String url = "jdbc:postgresql://localhost:" + args[1] + "/" + args[3];
        String password = System.getenv("PGPASSWORD");
        try (Connection c = connect(url, args[2], password, args[4]);
             Statement st = c.createStatement();
             ResultSet rs = st.executeQuery(
                 "SELECT current_user, count(*) FROM aws.apigatewayv2_stage")) {
            if (!rs.next()) throw new AssertionError("no row");
            if (!rs.getString(1).equals(args[2])) throw new AssertionError("user " + rs.getString(1));
            if (rs.getLong(2) != 50) throw new AssertionError("rows " + rs.getLong(2));
        }
        try {
            connect(url, args[2], "not-the-password", args[4]).close();
            throw new AssertionError("a wrong password was accepted");
        } catch (SQLException e) {
            if (!"28P01".equals(e.getSQLState()))
                throw new AssertionError("wrong password: " + e.getSQLState() + " " + e.getMessage());
        }
        System.out.println("{\"client\": \"pgjdbc scram+tls\", \"ok\": true}");
    }
}
